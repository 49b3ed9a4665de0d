"""dgnb.local.models."""
