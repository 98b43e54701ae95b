"""Segments: the built-in ones and saved filters, with their counts and members."""
