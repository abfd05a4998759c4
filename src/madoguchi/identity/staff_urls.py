from django.urls import path

from . import views

app_name = "staff_security"
urlpatterns = [
    path("", views.staff_policy, name="policy"),
]
