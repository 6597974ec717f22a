"""The bridge to the central system: pushed bulletins (HMAC, no user token), the bulletin pool, bridge health."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from broadcast.bridge.mapping import parse_bulletin
from broadcast.bridge.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from broadcast.domain.priority import Priority
from broadcast.services.bridge import view as bridge_view
from broadcast.services.bridge.bulletins import Receipt, import_bulletin
from broadcast.services.bridge.ports import BulletinRecord
from broadcast.web.deps import ContainerDep, PrincipalDep, UowDep
from broadcast.web.errors import error_response
from broadcast.web.openapi import errors

router = APIRouter(prefix="/bridge", tags=["bridge"])
STATUS_LABELS = {"pooled": "trong kho bản tin", "placed": "đã xếp lịch", "broadcast": "đã phát khẩn cấp",
                 "refused": "bị từ chối"}
HTTP_BY_RECEIPT = {"accepted": 201, "duplicate": 200, "refused": 422}
SIGNATURE_PROBLEMS = {"missing": "Thiếu chữ ký hoặc dấu thời gian của bản tin.",
                      "stale": "Dấu thời gian của bản tin lệch quá 5 phút; có thể là gửi lại, không nhận.",
                      "bad_signature": "Chữ ký HMAC của bản tin không đúng."}


class BulletinOut(BaseModel):
    id: str
    title: str
    priority: str
    priority_label: str
    target_areas: list[str]
    status: str
    status_label: str
    received_at: datetime
    text: str | None
    audio_url: str | None
    duration_ms: int | None
    topic: str
    agency: str
    valid_from: datetime | None
    valid_until: datetime | None
    issued_at: datetime | None
    reason: str | None
    asset_id: int | None
    programme_id: int | None
    emergency_id: int | None
    placements: list[dict[str, Any]]

    @classmethod
    def of(cls, r: BulletinRecord) -> BulletinOut:
        label = Priority(r.priority).label_vi if r.priority in Priority.__members__.values() else r.priority
        return cls(id=r.id, title=r.title, priority=r.priority, priority_label=label,
                   target_areas=list(r.target_areas), status=r.status, status_label=STATUS_LABELS.get(r.status, ""),
                   received_at=r.received_at, text=r.text, audio_url=r.audio_url, duration_ms=r.duration_ms,
                   topic=r.topic, agency=r.agency, valid_from=r.valid_from, valid_until=r.valid_until,
                   issued_at=r.issued_at, reason=r.reason, asset_id=r.asset_id, programme_id=r.programme_id,
                   emergency_id=r.emergency_id, placements=list(r.payload.get("placements") or []))


def _receipt_body(receipt: Receipt) -> dict[str, Any]:
    return {"bulletin_id": receipt.bulletin_id, "status": receipt.status, "code": receipt.code,
            "message": receipt.message, "handling": receipt.handling, "programme_id": receipt.programme_id,
            "emergency_id": receipt.emergency_id, "placements": list(receipt.placements)}


@router.post("/bulletins", responses={201: {}, 200: {}, **errors(401, 404)},
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"application/json": {"schema": {"type": "object"}}}}})
async def push_bulletin(request: Request, container: ContainerDep, uow: UowDep) -> JSONResponse:
    """A bulletin pushed by the central system: the raw JSON body signed with the shared secret (docs/bridge.md)."""
    secret = container.settings.bridge_hmac_secret
    if not secret:
        return error_response(404, "bridge_push_disabled", "Chưa cấu hình nhận bản tin đẩy từ hệ thống trung ương.")
    body = await request.body()
    problem = verify(secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), body,
                     container.clock.now().timestamp())
    if problem:
        return error_response(401, f"signature_{problem}", SIGNATURE_PROBLEMS[problem])
    try:
        data = json.loads(body)
    except ValueError:
        return error_response(400, "malformed_json", "Nội dung JSON không đúng cú pháp.")
    receipt = await run_in_threadpool(import_bulletin, uow, container.bridge_tools(), parse_bulletin(data),
                                      via="push")
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None and receipt.status == "accepted":
        runtime.wake_compile()
        runtime.wake_delivery()
    return JSONResponse(_receipt_body(receipt), status_code=HTTP_BY_RECEIPT[receipt.status])


@router.get("/bulletins", response_model=list[BulletinOut])
def list_bulletins(uow: UowDep, principal: PrincipalDep, status: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   offset: Annotated[int, Query(ge=0)] = 0) -> list[BulletinOut]:
    """Bulletins received for the user's areas; `status=pooled` is the pool communes schedule from."""
    return [BulletinOut.of(r) for r in bridge_view.list_bulletins(uow, principal, status=status, limit=limit,
                                                                   offset=offset)]


@router.get("/bulletins/{bulletin_id}", response_model=BulletinOut, responses=errors(404))
def get_bulletin(bulletin_id: str, uow: UowDep, principal: PrincipalDep) -> BulletinOut:
    return BulletinOut.of(bridge_view.get_bulletin(uow, principal, bulletin_id))


@router.get("/status", responses=errors(403))
def status(container: ContainerDep, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Pull cursor and outbox health (queued messages, the head's attempts and last error)."""
    return bridge_view.bridge_status(uow, principal, enabled=container.settings.bridge_enabled)
