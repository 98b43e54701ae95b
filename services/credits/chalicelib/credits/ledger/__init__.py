"""Ledger: credit lots, immutable entries, postings (grant, debit, reversal) and expiry."""
