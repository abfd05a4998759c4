from django.urls import path

from . import staff_views as views

app_name = "payments_staff"
urlpatterns = [
    path("", views.home, name="home"),
    path("export.csv", views.export, name="export"),
    path("bank/", views.bank, name="bank"),
    path("bank/<int:pk>/resolve/", views.resolve_bank_line, name="resolve_bank_line"),
    path("applications/<uuid:application_id>/", views.fee_detail, name="fee"),
    path("payments/<uuid:pk>/receipt.pdf", views.payment_receipt, name="receipt"),
]
