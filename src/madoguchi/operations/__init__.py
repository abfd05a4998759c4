"""Monitoring (layer 4, beside api.py): the health endpoint and the Prometheus metrics.
It reads the state of every capability through their selectors and owns no models."""
