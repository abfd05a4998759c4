from __future__ import annotations

from django.conf import settings


def site(request) -> dict[str, object]:
    from madoguchi.organisation.selectors import is_staff_member

    user = getattr(request, "user", None)
    staff = False
    if user is not None and user.is_authenticated:
        # Evaluated lazily by templates that ask for it; cached on the request.
        if not hasattr(request, "_madoguchi_is_staff"):
            request._madoguchi_is_staff = is_staff_member(user)
        staff = request._madoguchi_is_staff
    return {
        "site_name": settings.MADOGUCHI_SITE_NAME,
        "demo_mode": settings.MADOGUCHI_DEMO_IDENTITY,
        "is_staff_member": staff,
    }
