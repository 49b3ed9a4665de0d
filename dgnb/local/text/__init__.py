"""dgnb.local.text."""
