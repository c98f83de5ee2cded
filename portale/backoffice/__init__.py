"""backoffice area."""
