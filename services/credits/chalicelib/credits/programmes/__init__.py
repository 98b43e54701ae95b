"""The store's credits settings and its cashback programme."""
