"""dgnb.results."""
