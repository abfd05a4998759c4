from django.urls import path, re_path

from . import views

app_name = "ledger"
urlpatterns = [
    path("", views.home, name="home"),
    path("<str:name>/", views.log_detail, name="log"),
    path("<str:name>/entries/<int:index>/", views.entry_detail, name="entry"),
    # C2SP tlog-tiles, beside the pages.
    path("<str:name>/checkpoint", views.checkpoint, name="checkpoint"),
    path("<str:name>/public-key", views.public_key, name="public_key"),
    re_path(r"^(?P<name>[^/]+)/tile/(?P<path>[0-9a-z./x]+)$", views.tile, name="tile"),
]
