"""Adapters to external public systems, one module per system, found through a registry.

The portal depends on the interfaces in :mod:`connectors.base` only; concrete adapters are
registered by entry point (group ``portale.connectors``) and configured from settings.
"""
