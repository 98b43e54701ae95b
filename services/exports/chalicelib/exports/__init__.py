"""The exports service (routes arrive with their issues)."""
