"""The simplification programme: targets, offices compared, proposals, the quarterly report."""
