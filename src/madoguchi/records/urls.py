from django.urls import path

from . import views

app_name = "records"
urlpatterns = [
    path("", views.register, name="register"),
    path("register.csv", views.register_csv, name="register_csv"),
    path("expired/", views.expired, name="expired"),
    path("proposals/", views.proposals, name="proposals"),
    path("proposals/<uuid:pk>/", views.proposal_detail, name="proposal"),
    path("files/<uuid:pk>/", views.file_detail, name="file"),
    path("files/<uuid:pk>/holds/", views.place_hold, name="place_hold"),
    path("files/<uuid:pk>/holds/<int:hold_id>/release/", views.release_hold, name="release_hold"),
    path("files/<uuid:pk>/propose/", views.propose, name="propose"),
    path("records/<uuid:pk>/", views.record_detail, name="record"),
    path("records/<uuid:pk>/original", views.record_original, name="record_original"),
    path("records/<uuid:pk>/files/<str:sha256>", views.record_file, name="record_file"),
]
