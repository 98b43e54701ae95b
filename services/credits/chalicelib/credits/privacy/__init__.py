"""Privacy requests: the credits service's access contribution and erasure."""
