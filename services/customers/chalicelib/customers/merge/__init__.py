"""Merging duplicate customers into one profile."""
