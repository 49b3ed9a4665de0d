"""dgnb.api.listen."""
