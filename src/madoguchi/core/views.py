from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from madoguchi.catalogue.selectors import life_event_counts, published_procedures


def home(request: HttpRequest) -> HttpResponse:
    procedures = list(published_procedures())
    return render(request, "core/home.html", {"life_events": life_event_counts(procedures)})


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "core/accessibility.html")


def error_page(request: HttpRequest, *, status: int, title: str, message: str) -> HttpResponse:
    return render(request, "core/error.html", {"title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return error_page(
        request,
        status=400,
        title=_("リクエストを処理できません"),
        message=_("入力内容をご確認のうえ、もう一度お試しください。"),
    )


def permission_denied(request, exception=None):
    return error_page(
        request,
        status=403,
        title=_("この操作は許可されていません"),
        message=_("ログインしているアカウントをご確認ください。"),
    )


def not_found(request, exception=None):
    return error_page(
        request,
        status=404,
        title=_("ページが見つかりません"),
        message=_("URLが正しいかご確認ください。申請は「わたしの申請」から開けます。"),
    )


# The database (or its connection) is away: PostgreSQL restarting, a fail-over, SQLite
# locked. The request may succeed in a moment, so 503 with Retry-After, not 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def unavailable(request) -> HttpResponse:
    """Rendered without the request: the site's layout reads the session and the user,
    which are in the database that is away."""
    response = HttpResponse(render_to_string("core/unavailable.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request):
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return unavailable(request)
    return error_page(
        request,
        status=500,
        title=_("ただいま処理できません"),
        message=_(
            "時間をおいてもう一度お試しください。「次へ」で進んだページまでの入力内容は下書きとして保存されています。"
        ),
    )


def csrf_failure(request, reason=""):
    return error_page(
        request,
        status=403,
        title=_("ページの有効期限が切れました"),
        message=_("前の画面に戻り、ページを再読み込みしてから、もう一度送信してください。"),
    )
