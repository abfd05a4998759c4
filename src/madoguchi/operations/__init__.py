"""Operations (layer 4, beside api.py): the health endpoint, the Prometheus metrics and
the backup commands. It reads the state of every capability through their selectors and
services and owns no models."""
