"""Clientela on a laptop: packaging, local provisioning and the local stack (moto + Chalice)."""
