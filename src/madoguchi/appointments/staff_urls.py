from django.urls import path

from . import staff_views as views

app_name = "appointments_staff"
urlpatterns = [
    path("", views.home, name="home"),
    path("counters/<int:counter_id>/", views.day, name="day"),
    path("counters/<int:counter_id>/blocks/", views.blocks, name="blocks"),
    path("bookings/<uuid:pk>/", views.booking, name="booking"),
    path("bookings/<uuid:pk>/act/", views.act, name="act"),
    path("bookings/<uuid:pk>/move/", views.move, name="move"),
    path("check-in/<str:token>/", views.check_in_by_code, name="check_in"),
]
