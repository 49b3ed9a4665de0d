"""dgnb.notebook."""
