"""Alerts on loudspeakers, their thresholds per area, and the webhooks told of them."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from broadcast.domain.alerts import CAUSE_LABELS, Alert, Cause, describe
from broadcast.domain.notifications import Webhook
from broadcast.services import alerts as service
from broadcast.services import webhooks as webhook_service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors
from broadcast.web.schemas import StrictModel

router = APIRouter(tags=["alerts"])


class AlertOut(BaseModel):
    id: int
    device_id: str
    commune_code: str
    cause: str
    cause_label: str
    text: str
    state: str
    details: dict[str, Any]
    first_seen_at: datetime
    opened_at: datetime | None
    last_seen_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    note: str | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, a: Alert) -> AlertOut:
        return cls(id=a.id, device_id=a.device_id, commune_code=a.commune_code, cause=a.cause.value,
                   cause_label=CAUSE_LABELS[a.cause], text=describe(a.cause.value, a.details), state=a.state.value,
                   details=dict(a.details), first_seen_at=a.first_seen_at, opened_at=a.opened_at,
                   last_seen_at=a.last_seen_at, acknowledged_by=a.acknowledged_by, acknowledged_at=a.acknowledged_at,
                   note=a.note, resolved_at=a.resolved_at)


class AckIn(StrictModel):
    note: str = Field(default="", max_length=1000)


class WebhookIn(StrictModel):
    url: str = Field(max_length=500)
    area_code: str
    causes: list[str] = Field(default_factory=list, max_length=20,
                              description="Loại cảnh báo (offline, amplifier_fault, ...); trống: mọi loại")
    secret: str | None = Field(default=None, min_length=16, max_length=200,
                               description="Trống: máy chủ tạo và trả về một lần")


class WebhookOut(BaseModel):
    id: int
    url: str
    area_code: str
    causes: list[str]
    created_by: str
    created_at: datetime
    secret: str | None = None  # only in the answer to its creation

    @classmethod
    def of(cls, hook: Webhook, *, with_secret: bool = False) -> WebhookOut:
        return cls(id=hook.id, url=hook.url, area_code=hook.area_code, causes=list(hook.causes),
                   created_by=hook.created_by, created_at=hook.created_at,
                   secret=hook.secret if with_secret else None)


@router.get("/alerts", response_model=list[AlertOut], responses=errors(403, 404))
def list_alerts(uow: UowDep, principal: PrincipalDep, area: str | None = None,
                state: Annotated[str | None, Query(pattern="^(open|acknowledged|resolved)$")] = None,
                cause: Cause | None = None, device: str | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0)] = 0) -> list[AlertOut]:
    """Alerts in the caller's areas, the newest first."""
    found = service.list_alerts(uow, principal, area=area, state=state, cause=cause.value if cause else None,
                                device_id=device, limit=limit, offset=offset)
    return [AlertOut.of(a) for a in found]


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut, responses=errors(403, 404, 409))
def acknowledge(alert_id: int, body: AckIn, container: ContainerDep, uow: UowDep, actor: ActorDep) -> AlertOut:
    """Take an open alert in hand (who and when are recorded, with the note); it still resolves by itself."""
    return AlertOut.of(service.acknowledge(uow, container.clock, actor, alert_id, body.note,
                                           notify=container.notifier))


@router.get("/alert-thresholds/{area_code}", responses=errors(403, 404))
def get_thresholds(area_code: str, container: ContainerDep, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """The area's own thresholds and those in force after inheritance from its province and the country's."""
    return service.describe_thresholds(uow, principal, area_code,
                                       service.national_thresholds(container.settings.alert_thresholds))


@router.put("/alert-thresholds/{area_code}", responses=errors(403, 404, 422))
def put_thresholds(area_code: str, body: dict[str, int | None], container: ContainerDep, uow: UowDep,
                   actor: ActorDep) -> dict[str, Any]:
    """Replace the area's overrides (names as in the answer's `effective`); what is left out is inherited."""
    return service.set_thresholds(uow, container.clock, actor, area_code, body,
                                  service.national_thresholds(container.settings.alert_thresholds))


@router.post("/webhooks", response_model=WebhookOut, status_code=201, responses=errors(403, 404, 422))
def add_webhook(body: WebhookIn, container: ContainerDep, uow: UowDep, actor: ActorDep) -> WebhookOut:
    """Alert events of the area (and below) POSTed as JSON signed with HMAC-SHA256 (docs/notifications.md)."""
    policy = container.settings.fetch_policy

    def check(url: str) -> None:
        parts = urlsplit(url)
        policy.check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))

    hook = webhook_service.add_webhook(uow, container.clock, actor, url=body.url, area_code=body.area_code,
                                       causes=body.causes, secret=body.secret, check_url=check)
    return WebhookOut.of(hook, with_secret=True)


@router.get("/webhooks", response_model=list[WebhookOut], responses=errors(403))
def list_webhooks(uow: UowDep, principal: PrincipalDep) -> list[WebhookOut]:
    return [WebhookOut.of(h) for h in webhook_service.list_webhooks(uow, principal)]


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=errors(403, 404))
def remove_webhook(webhook_id: int, container: ContainerDep, uow: UowDep, actor: ActorDep) -> Response:
    webhook_service.remove_webhook(uow, container.clock, actor, webhook_id)
    return Response(status_code=204)
