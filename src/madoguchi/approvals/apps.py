from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "madoguchi.approvals"
    label = "approvals"
    verbose_name = "電子決裁（決裁ルート・起案文書）"
