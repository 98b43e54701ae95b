"""A customer's photo: uploads, verification and short-lived links."""
