"""Fake external services speaking the real protocols on loopback, for tests and the demo."""
