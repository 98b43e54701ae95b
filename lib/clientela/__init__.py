"""Clientela's shared platform code: one home for every concern the services share.

Packaged into each service's deployment artifact by `make package` (vendored), never copied by
hand.
"""
