"""dgnb.local.routes."""
