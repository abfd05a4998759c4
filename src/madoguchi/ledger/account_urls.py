from django.urls import path

from . import account_views

app_name = "access_log"
urlpatterns = [path("", account_views.access_log, name="mine")]
