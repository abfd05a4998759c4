from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import BaselineRow


@csrf_exempt
@require_POST
def baseline(request: HttpRequest) -> HttpResponse:
    """Parses the JSON body and inserts it: what any Django view does at the least."""
    payload = json.loads(request.body)
    row = BaselineRow.objects.create(payload=payload)
    return JsonResponse({"id": row.pk}, status=201)
