"""Reports over a period of a store's orders, grouped by e-mail."""
