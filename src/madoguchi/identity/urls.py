from django.urls import path

from . import oidc_views, views

app_name = "identity"
urlpatterns = [
    path("", views.account, name="account"),
    path("profile/", views.profile, name="profile"),
    path("step-up/", views.step_up, name="step_up"),
    # Not "reauthenticate/": that is allauth's password form, one of the ways offered here.
    path("confirm-again/", views.reauthenticate, name="reauthenticate"),
    path("second-factor/", views.staff_second_factor, name="staff_second_factor"),
    path("data/", views.my_data, name="my_data"),
    path("data/my-data.json", views.my_data_json, name="my_data_json"),
    path("data/<slug:name>.csv", views.my_data_csv, name="my_data_csv"),
    path("delete/", views.delete_account, name="delete_account"),
    path("links/<int:link_id>/unlink/", views.unlink, name="unlink"),
    path("oidc/<slug:name>/start/", oidc_views.start, name="oidc_start"),
    path("oidc/<slug:name>/callback/", oidc_views.callback, name="oidc_callback"),
    path("oidc/link/", oidc_views.link_choice, name="oidc_link"),
    path("oidc/link/confirm/", oidc_views.link_confirm, name="oidc_link_confirm"),
    path("oidc/signup/", oidc_views.signup, name="oidc_signup"),
]
