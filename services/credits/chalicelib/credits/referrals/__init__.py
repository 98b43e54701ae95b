"""Refer-a-friend: referrers, their codes, the referrals they bring and their rewards."""
