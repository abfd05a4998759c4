from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "madoguchi.backoffice"
    label = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        # Decision 0009: the approvals engine learns of application decisions through its
        # registry; the callbacks finish the decision in the route's transaction.
        from madoguchi.approvals import registry
        from madoguchi.counter.routing import SUBJECT_KIND

        from . import services

        registry.register_kind(
            SUBJECT_KIND,
            label="申請の決定",
            on_completed=services.on_route_completed,
            on_returned=services.on_route_returned,
            on_recalled=services.on_route_recalled,
            on_cancelled=services.on_route_cancelled,
            subject_url=services.decision_url,
            context_fields={"outcome": "決定の内容", "fee_amount": "手数料（円）"},
            can_view=services.may_view_decision,
        )
