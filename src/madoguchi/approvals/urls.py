from django.urls import path

from . import views

app_name = "approvals"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/recall/", views.recall, name="recall"),
    path("steps/<int:step_id>/", views.act, name="act"),
    path("documents/", views.documents, name="documents"),
    path("documents/new/", views.document_new, name="document_new"),
    path("documents/<uuid:pk>/", views.document, name="document"),
    path("documents/<uuid:pk>/edit/", views.document_edit, name="document_edit"),
    path("documents/<uuid:pk>/submit/", views.document_submit, name="document_submit"),
    path("documents/<uuid:pk>/recall/", views.document_recall, name="document_recall"),
    path("documents/<uuid:pk>/cancel/", views.document_cancel, name="document_cancel"),
    path("documents/<uuid:pk>/files/", views.document_attach, name="document_attach"),
    path(
        "documents/<uuid:pk>/files/<uuid:file_id>/",
        views.document_file,
        name="document_file",
    ),
    path(
        "documents/<uuid:pk>/files/<uuid:file_id>/remove/",
        views.document_remove_file,
        name="document_remove_file",
    ),
    path("delegations/", views.delegations, name="delegations"),
    path("delegations/<int:pk>/cancel/", views.delegation_cancel, name="delegation_cancel"),
    path("routes/", views.routes, name="routes"),
    path("routes/<str:body>/<slug:identifier>/", views.route, name="route"),
]
