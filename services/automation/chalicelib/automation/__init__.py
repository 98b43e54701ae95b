"""The automation service (routes arrive with their issues)."""
