"""The FastAPI application factory: routes under /api/v1, probes at the root."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from broadcast.bootstrap import Container
from broadcast.web.errors import install_error_handlers
from broadcast.web.middleware import BodyLimitMiddleware, MetricsMiddleware
from broadcast.web.routes import (areas, audio, auth, bridge, devices, emergencies, health, media, playlog, programmes,
                                  reports, schedules, users)

API_PREFIX = "/api/v1"
UPLOAD_PREFIXES = (f"{API_PREFIX}/audio",)


def create_app(container: Container, runtime=None) -> FastAPI:
    """`runtime` (gateway and timer) is embedded for single-node use; it starts and stops with the app."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if runtime is not None:
            runtime.start()
        try:
            yield
        finally:
            if runtime is not None:
                runtime.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="LoaXa",
        summary="Hệ thống điều hành loa truyền thanh cơ sở số (commune loudspeaker system)",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.container = container
    app.state.runtime = runtime
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, areas, users, devices, audio, programmes, schedules, playlog, emergencies, reports, bridge):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(media.router)
    app.add_middleware(BodyLimitMiddleware, default_limit=container.settings.max_body_bytes,
                       upload_limit=container.settings.audio_max_bytes + 1024 * 1024,
                       upload_prefixes=UPLOAD_PREFIXES)
    app.add_middleware(MetricsMiddleware, metrics=container.metrics)
    return app
