"""Export parts: the customers service writes its rows for an export job (issue 10)."""
