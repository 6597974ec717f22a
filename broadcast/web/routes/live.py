"""Live broadcast: start, read, stop, and the audio WebSocket the browser (or `loaxa live`) feeds.

The WebSocket authenticates either with the web app's session cookie (same-origin pages only) or with a bearer
token in its first message, `{"type": "auth", "token": "..."}`; anything else is closed with 4401. Binary
messages are Opus/WebM chunks (MediaRecorder); `{"type": "stop"}` ends the session; the server answers
`{"type": "ready"}` once the encoder runs and `{"type": "ended", "status": ...}` at the end.
"""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Query, Request, WebSocket
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from broadcast.adapters.icecast import IcecastConfig, IcecastSecrets, load_or_create_secrets
from broadcast.adapters.live_encoder import EncoderGone, FfmpegLiveEncoder
from broadcast.bootstrap import Container
from broadcast.domain.auth import Principal
from broadcast.domain.errors import DomainError, Unauthenticated
from broadcast.domain.live import LiveSession
from broadcast.services import live as service
from broadcast.services import live_relay
from broadcast.services.context import Actor
from broadcast.services.emergencies import MAX_TARGETS, Reach
from broadcast.services.sessions import principal_from_token
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors

router = APIRouter(prefix="/live", tags=["live"])
AUTH_WAIT_S = 10.0
WS_PATH = "/api/v1/live/{id}/audio"


# ------------------------------------------------------------------ wiring (one relay per process)

def stream_base_url(container: Container) -> str:
    settings = container.settings
    return settings.stream_public_url or f"http://{settings.icecast_host}:{settings.icecast_port}"


def live_tools(container: Container) -> service.LiveTools:
    return service.LiveTools(clock=container.clock, signer=container.signer,
                             stream_public_url=stream_base_url(container),
                             max_length=timedelta(minutes=container.settings.live_max_minutes),
                             tz=container.settings.timezone)


def icecast_config(container: Container) -> IcecastConfig:
    settings = container.settings
    directory = settings.data_dir / "icecast"
    stored = load_or_create_secrets(directory)
    secrets = IcecastSecrets(settings.icecast_source_password or stored.source_password, stored.admin_password)
    return IcecastConfig(directory=directory, host=settings.icecast_host, port=settings.icecast_port,
                         secrets=secrets, max_listeners_per_mount=settings.icecast_max_listeners)


def build_relay(container: Container) -> live_relay.LiveRelay:
    settings = container.settings
    icecast = icecast_config(container)

    def encoder(session: LiveSession, recording) -> FfmpegLiveEncoder:
        return FfmpegLiveEncoder(icecast.source_url(session.mount), recording, settings.audio_target_lufs)

    def keep(session_id: int, recording) -> None:
        def job() -> None:
            service.keep_recording(container.uow, container.clock, container.audio, container.jobs, session_id,
                                   recording, spool_dir=container.spool_dir, tz=settings.timezone)

        container.jobs.submit(job)

    return live_relay.LiveRelay(container.uow, live_tools(container), encoder, settings.data_dir / "live-recordings",
                                idle_timeout_s=settings.live_idle_timeout_s,
                                connect_timeout_s=max(20.0, settings.live_idle_timeout_s * 3),
                                on_commands=container.wake_delivery, on_recording=keep)


def relay_of(app: FastAPI) -> live_relay.LiveRelay:
    relay = getattr(app.state, "live_relay", None)
    if relay is None:
        relay = app.state.live_relay = build_relay(app.state.container)
    return relay


def close_relay(app: FastAPI) -> None:
    """App shutdown: the sessions this process carries end cleanly (devices told to stop, encoders closed)."""
    relay = getattr(app.state, "live_relay", None)
    if relay is not None:
        relay.close_all()


# ------------------------------------------------------------------ bodies

class TargetsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    areas: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)
    zones: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)
    devices: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)


class LiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: TargetsIn
    priority: str = "normal"  # normal | priority (editors) | emergency (emergency operators)
    volume: int = 100


class ReachOut(BaseModel):
    tracked: int
    received: int
    stages: dict[str, int]
    not_reached: int

    @classmethod
    def of(cls, reach: Reach | None) -> ReachOut | None:
        if reach is None:
            return None
        return cls(tracked=reach.tracked, received=reach.received, stages=reach.stages, not_reached=reach.not_reached)


class LiveOut(BaseModel):
    id: int
    status: str
    priority: str
    area_code: str
    targets: dict
    stream_url: str
    ws_path: str
    cmd_id: str | None
    stop_cmd_id: str | None
    created_by: str
    created_at: datetime
    ends_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    bytes_received: int
    elapsed_s: int
    recording_id: int | None
    recording_error: str | None
    reach: ReachOut | None = None
    stop_reach: ReachOut | None = None

    @classmethod
    def of(cls, view: service.LiveView) -> LiveOut:
        s = view.session
        targets = {k: s.targets.get(k, []) for k in ("areas", "zones", "devices")}
        return cls(id=s.id, status=s.status.value, priority=s.priority, area_code=s.area_code, targets=targets,
                   stream_url=s.stream_url, ws_path=WS_PATH.format(id=s.id), cmd_id=s.cmd_id,
                   stop_cmd_id=s.stop_cmd_id, created_by=s.created_by, created_at=s.created_at, ends_at=s.ends_at,
                   started_at=s.started_at, ended_at=s.ended_at, end_reason=s.end_reason,
                   bytes_received=s.bytes_received, elapsed_s=view.elapsed_s, recording_id=s.recording_id,
                   recording_error=s.recording_error, reach=ReachOut.of(view.reach),
                   stop_reach=ReachOut.of(view.stop_reach))


# ------------------------------------------------------------------ HTTP

def begin(container: Container, app: FastAPI, actor: Actor, request: service.LiveRequest) -> LiveSession:
    """Start a session and watch that its audio arrives (the page shares this with the API)."""
    live = service.start_live(container.uow(), live_tools(container), actor, request)
    container.wake_delivery()
    relay_of(app).watch_connection(live.id)
    return live


def finish(container: Container, app: FastAPI, actor: Actor, session_id: int) -> None:
    """An officer's stop: the session closed and devices told to stop, then the local link (if any) let go."""
    service.end_live(container.uow(), live_tools(container), actor, session_id)
    container.wake_delivery()
    link = relay_of(app).link(session_id)
    if link is not None:
        link.close(live_relay.STOPPED)


@router.post("", response_model=LiveOut, status_code=201, responses=errors(403, 404))
def start(body: LiveIn, request: Request, container: ContainerDep, uow: UowDep, actor: ActorDep,
                     principal: PrincipalDep) -> LiveOut:
    live = begin(container, request.app, actor, service.LiveRequest(
        areas=body.targets.areas, zones=body.targets.zones, devices=body.targets.devices, priority=body.priority,
        volume=body.volume))
    return LiveOut.of(service.get_live(uow, container.clock, principal, live.id))


@router.get("", response_model=list[LiveOut])
def list_sessions(container: ContainerDep, uow: UowDep, principal: PrincipalDep,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  offset: Annotated[int, Query(ge=0)] = 0) -> list[LiveOut]:
    sessions = service.list_live(uow, principal, limit=limit, offset=offset)
    return [LiveOut.of(service.LiveView(s, None)) for s in sessions]


@router.get("/{session_id}", response_model=LiveOut, responses=errors(403, 404))
def get_session(session_id: int, container: ContainerDep, uow: UowDep, principal: PrincipalDep) -> LiveOut:
    return LiveOut.of(service.get_live(uow, container.clock, principal, session_id))


@router.post("/{session_id}/stop", response_model=LiveOut, responses=errors(403, 404, 409))
def stop(session_id: int, request: Request, container: ContainerDep, uow: UowDep, actor: ActorDep,
         principal: PrincipalDep) -> LiveOut:
    finish(container, request.app, actor, session_id)
    return LiveOut.of(service.get_live(uow, container.clock, principal, session_id))


# ------------------------------------------------------------------ the audio socket

def _same_origin(websocket: WebSocket, container: Container) -> bool:
    """Cookie sign-in only from our own pages: a foreign page could otherwise ride the officer's cookie."""
    origin = websocket.headers.get("origin")
    if not origin:
        return False
    host = urlsplit(origin).netloc
    return host in (websocket.headers.get("host"), urlsplit(container.settings.public_url).netloc)


async def _principal(websocket: WebSocket, container: Container) -> Principal:
    from broadcast.web.pages.session import SESSION_COOKIE  # pages import routes' helpers, not the reverse

    cookie = websocket.cookies.get(SESSION_COOKIE)
    if cookie and _same_origin(websocket, container):
        return await run_in_threadpool(principal_from_token, container.uow(), container.clock, container.tokens,
                                       cookie)
    try:
        first = await asyncio.wait_for(websocket.receive_text(), timeout=AUTH_WAIT_S)
        message = json.loads(first)
    except (TimeoutError, ValueError, KeyError, RuntimeError) as exc:
        raise Unauthenticated("Cần đăng nhập: gửi {\"type\": \"auth\", \"token\": ...} trước.",
                              code="unauthenticated") from exc
    token = message.get("token") if isinstance(message, dict) and message.get("type") == "auth" else None
    if not isinstance(token, str) or not token:
        raise Unauthenticated("Cần đăng nhập để phát trực tiếp.", code="unauthenticated")
    return await run_in_threadpool(principal_from_token, container.uow(), container.clock, container.tokens, token)


async def _pump(websocket: WebSocket, link: live_relay.LiveLink, relay: live_relay.LiveRelay) -> live_relay.Ending:
    """Audio in until the link ends; returns how it ended."""
    last_check = time.monotonic()
    ends_at = link.session.ends_at
    while True:
        remaining = relay.idle_timeout_s - link.idle_for()
        if remaining <= 0:
            return live_relay.IDLE
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=min(remaining, 1.0))
        except TimeoutError:
            message = None
        if message is not None:
            if message["type"] == "websocket.disconnect":
                return live_relay.SOCKET_CLOSED
            if message.get("bytes"):
                try:
                    await run_in_threadpool(link.feed, message["bytes"])
                except EncoderGone:
                    return live_relay.ENCODER_FAILED
            elif message.get("text"):
                try:
                    command = json.loads(message["text"])
                except ValueError:
                    command = None
                if isinstance(command, dict) and command.get("type") == "stop":
                    return live_relay.STOPPED
        if not link.encoder.alive:
            return live_relay.ENCODER_FAILED
        if time.monotonic() - last_check >= 1.0:
            last_check = time.monotonic()
            if not await run_in_threadpool(link.still_open):
                return live_relay.STOPPED  # stopped through the API, maybe on another node
            if relay.tools.clock.now() >= ends_at:
                return live_relay.TIME_UP


@router.websocket("/{session_id}/audio")
async def audio(websocket: WebSocket, session_id: int) -> None:
    container: Container = websocket.app.state.container
    relay = relay_of(websocket.app)
    await websocket.accept()
    try:
        principal = await _principal(websocket, container)
        peer = websocket.client.host if websocket.client else None
        link = await run_in_threadpool(relay.connect, session_id, Actor(principal, peer))
    except DomainError as exc:
        code = 4401 if isinstance(exc, Unauthenticated) else 4403
        await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await websocket.close(code=code)
        return
    ending = live_relay.SOCKET_CLOSED
    try:
        await websocket.send_json({"type": "ready", "session_id": session_id, "stream_url": link.session.stream_url,
                                   "idle_timeout_s": relay.idle_timeout_s})
        ending = await _pump(websocket, link, relay)
    finally:
        ended = await run_in_threadpool(link.close, ending)
    status = ended.status.value if ended is not None else "ended"
    try:
        await websocket.send_json({"type": "ended", "status": status, "reason": ending.reason})
        await websocket.close()
    except (RuntimeError, OSError):
        pass  # the client is already gone
