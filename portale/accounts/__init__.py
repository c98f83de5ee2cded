"""Accounts, roles, offices (SUAP) and authorities."""
