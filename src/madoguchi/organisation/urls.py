from django.urls import path

from . import views

app_name = "organisation"
urlpatterns = [
    path("", views.home, name="home"),
    path("<str:body>/", views.body_home, name="body"),
    path("<str:body>/units/new/", views.unit_new, name="unit_new"),
    path("<str:body>/units/<slug:code>/", views.unit_detail, name="unit"),
    path("<str:body>/units/<slug:code>/edit/", views.unit_edit, name="unit_edit"),
    path("<str:body>/units/<slug:code>/active/", views.unit_active, name="unit_active"),
    path("<str:body>/units/<slug:code>/members/", views.member_add, name="member_add"),
    path("<str:body>/members/<int:pk>/", views.member_update, name="member_update"),
    path("<str:body>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("<str:body>/positions/", views.positions, name="positions"),
    path("<str:body>/delegations/", views.delegations, name="delegations"),
    path(
        "<str:body>/delegations/<int:pk>/cancel/",
        views.delegation_cancel,
        name="delegation_cancel",
    ),
    path("<str:body>/grants/", views.grants, name="grants"),
    path("<str:body>/import/", views.import_csv, name="import"),
]
