"""Imports: matching and applying the rows of a file the exports service read (issue 10)."""
