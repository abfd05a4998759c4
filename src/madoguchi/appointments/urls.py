from django.urls import path

from . import views

app_name = "appointments"
urlpatterns = [
    path("account/appointments/", views.mine, name="mine"),
    path("account/appointments/new/", views.new, name="new"),
    path("account/appointments/<uuid:pk>/", views.detail, name="detail"),
    path("account/appointments/<uuid:pk>/cancel/", views.cancel, name="cancel"),
    path("account/appointments/<uuid:pk>/booking.ics", views.ics_file, name="ics"),
    path("appointments/verify/<str:token>/", views.verify, name="verify"),
    path("appointments/manage/<str:token>/", views.manage, name="manage"),
    path("appointments/manage/<str:token>/booking.ics", views.manage_ics, name="manage_ics"),
    path("appointments/<str:body_code>/<slug:code>/", views.guest, name="guest"),
]
