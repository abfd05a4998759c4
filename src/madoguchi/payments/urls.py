from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("account/payments/", views.my_payments, name="mine"),
    path("account/payments/<uuid:pk>/", views.detail, name="detail"),
    path("account/payments/<uuid:pk>/cancel/", views.cancel, name="cancel"),
    path("account/payments/<uuid:pk>/receipt.pdf", views.receipt_pdf, name="receipt"),
    path("payments/applications/<uuid:application_id>/start/", views.start, name="start"),
    path("payments/<uuid:pk>/return/", views.returned, name="returned"),
    path("payments/<uuid:pk>/abandoned/", views.abandoned, name="abandoned"),
    path("payments/webhooks/<slug:provider>/", views.webhook, name="webhook"),
]
