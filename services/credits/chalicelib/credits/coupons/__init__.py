"""Coupons for one customer: a code bound to a customer, redeemed by the storefront."""
