"""Privacy requests: the automation service's access contribution and erasure."""
