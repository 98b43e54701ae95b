"""The customer itself: profile, consent, tags."""
