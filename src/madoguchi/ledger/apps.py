from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "madoguchi.ledger"
    label = "ledger"
    verbose_name = "Ledger"
