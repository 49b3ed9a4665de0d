"""dgnb.api."""
