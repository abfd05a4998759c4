from django.urls import path

from . import views

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("queue/export.csv", views.export_csv, name="export"),
    path("queue/bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("units/<int:unit_id>/", views.dashboard, name="dashboard"),
    path("applications/<uuid:pk>/", views.detail, name="detail"),
    path("applications/<uuid:pk>/act/", views.act, name="act"),
    path("applications/<uuid:pk>/assign/", views.assign, name="assign"),
    path("applications/<uuid:pk>/correction/", views.request_correction, name="request_correction"),
    path("applications/<uuid:pk>/decision/", views.decide, name="decide"),
    path("applications/<uuid:pk>/decision/recall/", views.recall, name="recall"),
    path("applications/<uuid:pk>/decision/correct/", views.correct_decision, name="correct"),
    path("applications/<uuid:pk>/notes/", views.add_note, name="add_note"),
    path("applications/<uuid:pk>/messages/", views.post_message, name="post_message"),
    path("applications/<uuid:pk>/my-number/", views.my_number, name="my_number"),
    path("applications/<uuid:pk>/files/<uuid:file_id>/", views.download_file, name="file"),
    path(
        "applications/<uuid:pk>/files/<uuid:file_id>/pages/<int:page>.png",
        views.file_preview,
        name="file_preview",
    ),
    path("counter/", views.counter_start, name="counter_start"),
    path("counter/<uuid:pk>/", views.counter_overview, name="counter_overview"),
    path("counter/<uuid:pk>/confirm/", views.counter_confirm, name="counter_confirm"),
    path("counter/<uuid:pk>/print/", views.counter_print, name="counter_print"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:email_id>/retry/", views.outbox_retry, name="outbox_retry"),
    path("settings/notifications/", views.notification_settings, name="notification_settings"),
]
