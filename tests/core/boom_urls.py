"""The project's URLs plus a view that fails, to see the 500 page."""

from django.urls import path

from madoguchi.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def boom(request):
    raise RuntimeError("secret detail 123456789012 山田花子")


urlpatterns = [path("boom/", boom), *urlpatterns]
