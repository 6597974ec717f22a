"""The FastAPI application factory: routes under /api/v1, probes at the root."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from broadcast.bootstrap import Container
from broadcast.settings import Settings
from broadcast.web.errors import install_error_handlers
from broadcast.web.middleware import AuthGateMiddleware, BodyLimitMiddleware, BodyLimits, MetricsMiddleware
from broadcast.web.openapi import install_openapi
from broadcast.web.pages import install_pages
from broadcast.web.pages.emergency_recordings import MAX_BYTES as RECORDING_MAX_BYTES
from broadcast.web.routes import (
    alerts,
    areas,
    audio,
    auth,
    bridge,
    commands,
    devices,
    emergencies,
    emergency_chime,
    health,
    live,
    media,
    playlog,
    programmes,
    pronunciations,
    relay_channels,
    reports,
    schedules,
    users,
    vocabularies,
)

API_PREFIX = "/api/v1"
# Everything else under the prefix needs a bearer token before its body is read (the push is signed by HMAC).
PUBLIC_API = frozenset({("POST", f"{API_PREFIX}/auth/token"), ("POST", f"{API_PREFIX}/bridge/bulletins"),
                        ("GET", f"{API_PREFIX}/openapi.json")})
MULTIPART_OVERHEAD = 1024 * 1024  # the form fields and boundaries around an uploaded file


def body_limits(settings: Settings) -> BodyLimits:
    """Small JSON by default; larger documents where they are expected; only the upload takes audio files."""
    document = settings.max_document_bytes
    return BodyLimits(settings.max_body_bytes, {
        ("POST", f"{API_PREFIX}/audio"): settings.audio_max_bytes + MULTIPART_OVERHEAD,
        ("POST", f"{API_PREFIX}/audio/tts"): document,
        ("PUT", f"{API_PREFIX}/emergency-chime"): emergency_chime.MAX_BYTES + MULTIPART_OVERHEAD,
        ("POST", f"{API_PREFIX}/schedules"): document,
        ("PUT", f"{API_PREFIX}/schedules/{{schedule_id}}"): document,
        ("POST", f"{API_PREFIX}/emergencies"): document,
        ("POST", f"{API_PREFIX}/emergencies/cap"): document,
        ("POST", f"{API_PREFIX}/bridge/bulletins"): document,
        ("PUT", f"{API_PREFIX}/zones/{{zone_id}}/devices"): document,
        ("POST", f"{API_PREFIX}/commands"): document,  # up to 10,000 device ids
        ("POST", "/khan-cap/xac-nhan"): RECORDING_MAX_BYTES + MULTIPART_OVERHEAD,  # emergency page: a recording
        ("POST", "/khan-cap/sua"): document,  # TTS text again, URL-encoded
        ("POST", "/khan-cap/gui"): document,
        ("POST", "/thiet-bi/khu-vuc/{zone_id}"): document,  # a zone's device ids
        ("POST", "/thu-vien/tai-len"): settings.audio_max_bytes + MULTIPART_OVERHEAD,  # the library page's upload
        ("POST", "/thu-vien/doc-van-ban"): document,  # a text to read, URL-encoded (up to 9 bytes a letter)
        ("POST", "/thu-vien/doc-thu"): document,
    })


def create_app(container: Container, runtime=None) -> FastAPI:
    """`runtime` (gateway and timer) is embedded for single-node use; it starts and stops with the app."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if runtime is not None:
            runtime.start()
        try:
            yield
        finally:
            live.close_relay(_app)  # live sessions end cleanly while the gateway can still tell devices to stop
            if runtime is not None:
                runtime.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="LoaXa",
        summary="Hệ thống điều hành loa truyền thanh cơ sở số (commune loudspeaker system)",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by broadcast.web.assets from local files
        redoc_url=None,
    )
    app.state.container = container
    install_error_handlers(app)
    install_openapi(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, areas, users, devices, audio, programmes, schedules, playlog, emergencies, reports, bridge,
                   vocabularies, pronunciations, emergency_chime, alerts, commands, live, relay_channels):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(media.router)
    install_pages(app, container)
    app.add_middleware(BodyLimitMiddleware, limits=body_limits(container.settings))
    app.add_middleware(AuthGateMiddleware, prefix=API_PREFIX, public=PUBLIC_API, container=container)
    app.add_middleware(MetricsMiddleware, metrics=container.metrics)
    return app
