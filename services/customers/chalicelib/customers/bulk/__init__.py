"""Bulk actions on customers, and the jobs that run the large ones."""
