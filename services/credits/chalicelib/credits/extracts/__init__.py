"""Export parts: the credits service writes its wallets' rows for an export job (issue 10)."""
