"""Orders, reviews and the aggregates they feed."""
