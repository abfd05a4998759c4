from django.conf import settings
from django.urls import include, path

from madoguchi.api import api
from madoguchi.identity import views as identity_views

handler400 = "madoguchi.core.views.bad_request"
handler403 = "madoguchi.core.views.permission_denied"
handler404 = "madoguchi.core.views.not_found"
handler500 = "madoguchi.core.views.server_error"

urlpatterns = [
    path("", include("madoguchi.core.urls")),
    path("", include("madoguchi.operations.urls")),
    path("procedures/", include("madoguchi.catalogue.urls")),
    path("", include("madoguchi.counter.urls")),
    path("", include("madoguchi.payments.urls")),
    path("", include("madoguchi.appointments.urls")),
    path("", include("madoguchi.issuance.urls")),
    # Before allauth's: its password re-authentication, refused to people with a second
    # factor (identity.views.password_reauthenticate).
    path("account/reauthenticate/", identity_views.password_reauthenticate),
    path("account/", include("allauth.urls")),
    path("account/", include("madoguchi.identity.urls")),
    path("account/access-log/", include("madoguchi.ledger.account_urls")),
    path("ledger/", include("madoguchi.ledger.urls")),
    path("staff/security/", include("madoguchi.identity.staff_urls")),
    path("staff/approvals/", include("madoguchi.approvals.urls")),
    path("staff/organisation/", include("madoguchi.organisation.urls")),
    path("staff/payments/", include("madoguchi.payments.staff_urls")),
    path("staff/appointments/", include("madoguchi.appointments.staff_urls")),
    path("staff/records/", include("madoguchi.records.urls")),
    path("transparency/", include("madoguchi.records.public_urls")),
    path("staff/", include("madoguchi.backoffice.urls")),
    path("api/", api.urls),
    # Django's set_language, which also keeps a signed-in person's choice for e-mails.
    path("i18n/setlang/", identity_views.set_language, name="set_language"),
]

if settings.MADOGUCHI_BENCH:
    urlpatterns.append(path("bench/", include("madoguchi.benchmarks.urls")))
