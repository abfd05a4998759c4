from django.urls import path

from . import views

app_name = "counter"
urlpatterns = [
    path("procedures/<str:body_code>/<slug:identifier>/start/", views.start, name="start"),
    path("applications/", views.my_applications, name="my_applications"),
    path("applications/<uuid:pk>/", views.detail, name="detail"),
    path("applications/<uuid:pk>/pages/<slug:page_id>/", views.page, name="page"),
    path("applications/<uuid:pk>/check/", views.check, name="check"),
    path("applications/<uuid:pk>/done/", views.done, name="done"),
    path("applications/<uuid:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("applications/<uuid:pk>/discard/", views.discard, name="discard"),
    path("applications/<uuid:pk>/messages/", views.post_message, name="post_message"),
    path("applications/<uuid:pk>/correction/", views.correction, name="correction"),
    path("applications/<uuid:pk>/files/<uuid:file_id>/", views.download_file, name="file"),
]
