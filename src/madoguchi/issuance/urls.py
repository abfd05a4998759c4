from django.urls import path

from . import views

app_name = "issuance"
urlpatterns = [
    path("documents/", views.my_documents, name="my_documents"),
    path("documents/<uuid:pk>/", views.document_detail, name="document"),
    path("documents/<uuid:pk>/download/", views.download, name="download"),
    path("verify/", views.verify, name="verify"),
    path("verify/<uuid:pk>/", views.verify, name="verify_document"),
    path("staff/documents/<uuid:pk>/", views.staff_document, name="staff_document"),
    path("staff/documents/<uuid:pk>/pdf/", views.staff_download, name="staff_download"),
    path("staff/documents/<uuid:pk>/resend/", views.staff_resend, name="staff_resend"),
    path("staff/documents/<uuid:pk>/retry/", views.staff_retry, name="staff_retry"),
    path("staff/documents/<uuid:pk>/revoke/", views.staff_revoke, name="staff_revoke"),
]
