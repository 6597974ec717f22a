"""Liveness, readiness and Prometheus metrics: no login (probes and scrapers)."""
from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from broadcast.web.deps import ContainerDep
from broadcast.web.errors import error_response
from broadcast.web.openapi import errors

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", responses=errors(503))
def readyz(container: ContainerDep):
    try:
        container.ping_database()
    except Exception as exc:  # any driver error means "not ready"
        return error_response(503, "database_unavailable", f"Không kết nối được cơ sở dữ liệu: {type(exc).__name__}")
    return {"status": "ready", "database": "ok"}


@router.get("/metrics")
def metrics(container: ContainerDep) -> Response:
    return Response(generate_latest(container.metrics.registry), media_type=CONTENT_TYPE_LATEST)
