from django.urls import path

from . import views

app_name = "catalogue"
urlpatterns = [
    path("", views.procedure_list, name="list"),
    path("<str:body_code>/<slug:identifier>/", views.procedure_detail, name="detail"),
]
