"""The credits service: each customer's wallet (refer-a-friend, bonus and cashback credits)."""
