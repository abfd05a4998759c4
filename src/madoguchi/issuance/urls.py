from django.urls import path

from . import signing_views, views

app_name = "issuance"
urlpatterns = [
    path("documents/", views.my_documents, name="my_documents"),
    path("documents/<uuid:pk>/", views.document_detail, name="document"),
    path("documents/<uuid:pk>/download/", views.download, name="download"),
    path("applications/<uuid:pk>/signature/", signing_views.sign, name="sign"),
    path("applications/<uuid:pk>/signature/demo/", signing_views.demo_sign, name="sign_demo"),
    path(
        "applications/<uuid:pk>/signature/application.json",
        signing_views.canonical_json,
        name="sign_json",
    ),
    path(
        "applications/<uuid:pk>/signature/application.pdf",
        signing_views.signing_pdf,
        name="sign_pdf",
    ),
    path("verify/", views.verify, name="verify"),
    path("verify/<uuid:pk>/", views.verify, name="verify_document"),
    path("staff/documents/<uuid:pk>/", views.staff_document, name="staff_document"),
    path("staff/documents/<uuid:pk>/pdf/", views.staff_download, name="staff_download"),
    path("staff/documents/<uuid:pk>/resend/", views.staff_resend, name="staff_resend"),
    path("staff/documents/<uuid:pk>/retry/", views.staff_retry, name="staff_retry"),
    path("staff/documents/<uuid:pk>/revoke/", views.staff_revoke, name="staff_revoke"),
]
