"""A customer's timeline and the store's activity feed."""
