"""Wallets: a customer's credit balance, opened and closed with the customer."""
