from django.urls import path

from . import views

app_name = "identity"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("step-up/", views.step_up, name="step_up"),
]
