from django.urls import path

from . import views

app_name = "operations"
urlpatterns = [
    path("healthz", views.health, name="health"),
    path("healthz/live", views.live, name="live"),
    path("metrics", views.metrics, name="metrics"),
]
