"""The customers service: profiles of a store's customers and prospects."""
