from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "madoguchi.approvals"
    label = "approvals"
    verbose_name = "電子決裁（決裁ルート・起案文書）"

    def ready(self) -> None:
        # Internal documents are the engine's own subject kind; higher layers register
        # theirs in their own ready() (decision 0009).
        from .services import register_internal_documents

        register_internal_documents()
