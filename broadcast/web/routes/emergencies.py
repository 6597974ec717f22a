"""Emergency broadcasts: start, stop, reach, list, and CAP 1.2 alerts."""
from __future__ import annotations

import re
import tempfile
import uuid
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit

import httpx
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from broadcast.domain.errors import InvalidInput, TooLarge
from broadcast.services import cap as cap_service
from broadcast.services import emergencies as service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.schemas_emergency import CapResultOut, EmergencyIn, EmergencyOut

router = APIRouter(prefix="/emergencies", tags=["emergencies"])
CAP_RESOURCE_MAX_BYTES = 100 * 1024 * 1024
CAP_FETCH_TIMEOUT_S = 20.0


def _tools(container) -> service.EmergencyTools:
    return service.EmergencyTools(clock=container.clock, signer=container.signer, processor=container.audio,
                                  public_url=container.settings.public_url,
                                  work_dir=container.settings.data_dir / "emergency-work")


def _wake(request: Request) -> None:
    """Publish now; without an embedded runtime the scheduler process's timer picks the commands up."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        runtime.wake_delivery()


class HttpFetcher:
    """Download a CAP resource to a temp file, refusing it past the size cap; any failure is a 422."""

    def __init__(self, directory: Path, max_bytes: int, timeout_s: float = CAP_FETCH_TIMEOUT_S):
        self.directory, self.max_bytes, self.timeout_s = directory, max_bytes, timeout_s

    def __call__(self, url: str) -> service.AudioFile:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"Địa chỉ âm thanh trong cảnh báo không phải URL http(s): {url[:200]!r}.",
                               code="cap_bad_resource")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.NamedTemporaryFile(dir=self.directory, prefix="cap-", delete=False).name)
        size = 0
        try:
            with httpx.stream("GET", url, timeout=self.timeout_s, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise InvalidInput(f"Không tải được âm thanh của cảnh báo (HTTP {response.status_code}).",
                                       code="cap_resource_unreachable")
                with path.open("wb") as out:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise TooLarge(f"Âm thanh của cảnh báo vượt quá {self.max_bytes // (1024 * 1024)} MB.",
                                           code="too_large")
                        out.write(chunk)
        except httpx.HTTPError as exc:
            path.unlink(missing_ok=True)
            raise InvalidInput(f"Không tải được âm thanh của cảnh báo ({type(exc).__name__}).",
                               code="cap_resource_unreachable") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        name = re.sub(r"[^A-Za-z0-9._-]", "_", unquote(parts.path.rsplit("/", 1)[-1]))[:100].lstrip(".")
        return service.AudioFile(path, name or f"cap-{uuid.uuid4().hex[:8]}")


@router.post("", response_model=EmergencyOut, status_code=201)
def start(body: EmergencyIn, request: Request, container: ContainerDep, uow: UowDep, actor: ActorDep) -> EmergencyOut:
    emergency = service.start_emergency(uow, _tools(container), actor, service.EmergencyRequest(
        reason=body.reason, areas=body.targets.areas, zones=body.targets.zones, devices=body.targets.devices,
        audio_id=body.audio_id, text=body.text, voice=body.voice, stream_url=body.stream_url,
        stream_minutes=body.stream_minutes, expires_in_minutes=body.expires_in_minutes, expires_at=body.expires_at,
        volume=body.volume, test_only=body.test_only))
    _wake(request)
    return EmergencyOut.of(service.get_emergency(uow, container.clock, actor.principal, emergency.id))


@router.post("/cap", response_model=CapResultOut, responses={201: {"model": CapResultOut}})
async def import_cap(request: Request, response: Response, container: ContainerDep, uow: UowDep,
                     actor: ActorDep) -> CapResultOut:
    """A CAP 1.2 alert as the raw XML body (application/cap+xml or application/xml)."""
    data = await request.body()
    fetch = HttpFetcher(container.settings.data_dir / "emergency-work",
                        min(CAP_RESOURCE_MAX_BYTES, container.settings.audio_max_bytes))
    outcome = await run_in_threadpool(cap_service.import_cap, uow, _tools(container), actor, data, fetch=fetch)
    view = None
    if outcome.emergency is not None:
        view = await run_in_threadpool(service.get_emergency, uow, container.clock, actor.principal,
                                       outcome.emergency.id)
    if outcome.action in ("started", "stopped"):
        _wake(request)
    response.status_code = 201 if outcome.action == "started" else 200
    return CapResultOut.of(outcome, view)


@router.get("", response_model=list[EmergencyOut])
def list_emergencies(container: ContainerDep, uow: UowDep, principal: PrincipalDep, status: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     offset: Annotated[int, Query(ge=0)] = 0) -> list[EmergencyOut]:
    views = service.list_emergencies(uow, container.clock, principal, status=status, limit=limit, offset=offset)
    return [EmergencyOut.of(v) for v in views]


@router.get("/{emergency_id}", response_model=EmergencyOut)
def get_emergency(emergency_id: int, container: ContainerDep, uow: UowDep, principal: PrincipalDep) -> EmergencyOut:
    return EmergencyOut.of(service.get_emergency(uow, container.clock, principal, emergency_id))


@router.post("/{emergency_id}/stop", response_model=EmergencyOut)
def stop(emergency_id: int, request: Request, container: ContainerDep, uow: UowDep, actor: ActorDep) -> EmergencyOut:
    service.stop_emergency(uow, container.clock, container.signer, actor, emergency_id)
    _wake(request)
    return EmergencyOut.of(service.get_emergency(uow, container.clock, actor.principal, emergency_id))
