from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "madoguchi.records"
    label = "records"
    verbose_name = "行政文書ファイル管理簿"

    def ready(self) -> None:
        # Decision 0009: the lower layers offer registries; records (layer 3) registers in
        # them — the resident's ledger panel and the filing of withdrawn applications
        # (counter), the content behind ledger hashes
        # (ledger), and its disposition proposals as a subject of approval routes.
        from madoguchi.approvals.registry import register_completion_listener, register_kind
        from madoguchi.counter import hooks
        from madoguchi.ledger import content as ledger_content

        from . import content, panels, services

        hooks.register_panel("done", "ledger", panels.ledger_panel, order=90)
        hooks.register_panel("detail", "ledger", panels.ledger_panel, order=90)
        hooks.register_closing_listener("records", services.file_closed_application)
        ledger_content.register_provider("records", content.record_content)
        ledger_content.register_provider("files", content.stored_file_content)
        register_kind(
            services.DISPOSITION_KIND,
            label="行政文書ファイルの移管・廃棄・延長",
            on_completed=services.on_proposal_approved,
            on_returned=services.on_proposal_returned,
            on_recalled=services.on_proposal_returned,
            on_cancelled=services.on_proposal_withdrawn,
            subject_url=lambda instance: f"/staff/records/proposals/{instance.subject_id}/",
            context_fields={"action": "措置（transfer・destroy・extend）"},
            reauthenticate=True,
        )
        register_completion_listener(
            "internal_document", "records", services.file_approved_internal_document
        )
