from django.urls import path

from . import views

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
    path("applications/<uuid:pk>/", views.detail, name="detail"),
    path("applications/<uuid:pk>/act/", views.act, name="act"),
    path("applications/<uuid:pk>/correction/", views.request_correction, name="request_correction"),
    path("applications/<uuid:pk>/messages/", views.post_message, name="post_message"),
    path("applications/<uuid:pk>/files/<uuid:file_id>/", views.download_file, name="file"),
]
