"""Imports: reading customer files (CSV, Mailchimp zip) into chunks for the customers service."""
