"""Benchmarks of the portal (issue 7): figures printed and saved, not tests. See README.md."""
