"""Payment providers, one folder each (see payments/registry.py)."""
