"""GET /lich/{token}.ics: the private calendar address a phone calendar subscribes to, without any header.

The token stands for the user (services/calendar_links.py); the feed is the same as GET
/api/v1/schedules/calendar.ics for that user and area. Every refusal is one plain 404, so an address that was
replaced, revoked or never existed all look alike."""
from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Response

from broadcast.domain.errors import NotFound, PermissionDenied
from broadcast.services.calendar_feed import calendar_for_area
from broadcast.services.calendar_links import UNKNOWN, resolve_token
from broadcast.web.deps import ContainerDep, UowDep

router = APIRouter(include_in_schema=False)
FEED_PATH = "/lich/{token}.ics"


def feed_path(token: str) -> str:
    return FEED_PATH.format(token=token)


@router.get(FEED_PATH, name="calendar_feed")
def private_feed(token: str, container: ContainerDep, uow: UowDep) -> Response:
    try:
        principal, area_code = resolve_token(uow, token)
        host = urlsplit(container.settings.public_url).hostname or "loaxa"
        body = calendar_for_area(uow, principal, area_code, container.settings.timezone, host=host)
    except (NotFound, PermissionDenied):  # rights lost since: the address no longer shows anything
        return Response(UNKNOWN, status_code=404, media_type="text/plain; charset=utf-8",
                         headers={"Cache-Control": "no-store"})
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="loaxa-{area_code}.ics"',
                             "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})
