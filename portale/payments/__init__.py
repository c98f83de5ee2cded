"""Payments through pagoPA: the office's creditor settings, debt positions and their receipts."""
