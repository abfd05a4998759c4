from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "madoguchi.issuance"
    label = "issuance"
    verbose_name = "交付文書"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the start-up checks

        # The counter's extension points (decision 0009: a registry, never a signal).
        try:
            from madoguchi.counter import hooks
        except ImportError:  # a counter without extension points: no panels
            return
        from . import panels, services, signing_views

        hooks.register_panel("check", "esign", signing_views.check_panel, order=5)
        hooks.register_panel("detail", "issuance", panels.documents_panel, order=30)
        hooks.register_panel("done", "issuance", panels.documents_panel, order=30)
        hooks.register_settlement_listener("issuance", services.issue_when_settled)
