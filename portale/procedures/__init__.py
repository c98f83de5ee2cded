"""procedures area."""
