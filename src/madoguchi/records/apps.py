from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "madoguchi.records"
    label = "records"
    verbose_name = "行政文書ファイル管理簿"

    def ready(self) -> None:
        # Decision 0009: the lower layers offer registries; records (layer 3) registers in
        # them — the resident's ledger panel (counter), the content behind ledger hashes
        # (ledger), and its disposition proposals as a subject of approval routes.
        from madoguchi.counter import hooks

        from . import panels

        hooks.register_panel("done", "ledger", panels.ledger_panel, order=90)
        hooks.register_panel("detail", "ledger", panels.ledger_panel, order=90)
