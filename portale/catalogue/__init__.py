"""catalogue area."""
