"""dgnb.local.wire."""
