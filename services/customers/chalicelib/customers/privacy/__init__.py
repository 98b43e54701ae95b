"""Privacy requests: the access contribution, erasure and the hashed tombstones of erased people."""
