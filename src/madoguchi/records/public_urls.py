from django.urls import path

from . import views

app_name = "transparency"
urlpatterns = [
    path("records/", views.public_bodies, name="bodies"),
    path("records/<str:code>/", views.public_register, name="register"),
    path("records/<str:code>/register.csv", views.public_register_csv, name="register_csv"),
]
