"""Settings presets over the API: the site-wide ones and the user's own, listed; the user's
saved (a name already taken has its settings replaced) and deleted (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from chat import answers
from chat.models import Preset, SettingsChange
from chat.web.api import api_view, json_body
from chat.web.requests import preset as preset_body


def preset_data(preset: Preset) -> dict[str, object]:
    return {
        "id": preset.pk,
        "name": preset.name,
        "site": preset.site_wide,
        "settings": preset.settings,
    }


def offered(user: Any) -> list[dict[str, object]]:
    """What the user may pick from, site-wide first (also the page's initial list)."""
    return [preset_data(p) for p in Preset.offered_to(user)]


@sync_to_async
def _listed(user: Any) -> list[dict[str, object]]:
    return offered(user)


@sync_to_async
def _kept(user: Any, name: str, change: SettingsChange) -> tuple[dict[str, object], bool]:
    preset, created = Preset.keep(user, name, change)
    return preset_data(preset), created


@sync_to_async
def _deleted(user: Any, preset_id: int) -> bool:
    # Only the user's own: a site-wide preset (no owner) is the admin's to delete.
    deleted, _ = Preset.objects.filter(pk=preset_id, owner=user).delete()
    return deleted > 0


@csrf_exempt
@require_http_methods(["GET", "POST"])
@api_view
async def presets(request: HttpRequest, user: Any) -> HttpResponse:
    """``GET``: the presets offered; ``POST``: save one of the user's own."""
    if request.method == "POST":
        name, change = preset_body(json_body(request))
        data, created = await _kept(user, name, change)
        return JsonResponse(data, status=201 if created else 200)
    return JsonResponse({"presets": await _listed(user)})


@csrf_exempt
@require_http_methods(["DELETE"])
@api_view
async def preset(request: HttpRequest, user: Any, preset_id: int) -> HttpResponse:
    if not await _deleted(user, preset_id):
        raise answers.NotFound("No such preset")
    return HttpResponse(status=204)
