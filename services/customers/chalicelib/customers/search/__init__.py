"""Finding customers: filters, index plans, search and counts."""
