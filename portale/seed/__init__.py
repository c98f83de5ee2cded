"""Seed data files (YAML) loaded by ``portale reference load`` and ``portale demo load``."""
