"""dgnb._core."""
