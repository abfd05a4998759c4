from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "madoguchi.payments"
    label = "payments"
    verbose_name = "手数料の納付"

    def ready(self) -> None:
        # Providers register themselves when their folder is imported.
        from madoguchi.counter import hooks

        from . import panels, services
        from .contrib import bank_transfer, counter, stripe  # noqa: F401

        hooks.register_panel("check", "payments", panels.check_panel, order=10)
        hooks.register_panel("done", "payments", panels.after_submission_panel, order=10)
        hooks.register_panel("detail", "payments", panels.after_submission_panel, order=10)
        hooks.register_transition_guard("payments.review", services.review_guard)
        hooks.register_transition_guard("payments.discard", services.discard_guard)
        hooks.register_issuance_gate("payments", services.issuance_allowed)
