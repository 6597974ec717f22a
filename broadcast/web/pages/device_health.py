"""A device's health on its page (spec section 9.1): the newest values in words, and charts of the last day's
temperature and supply voltage from the bucketed history."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from broadcast.domain.auth import Principal
from broadcast.services.context import Actor
from broadcast.services.fleet_health import device_health
from broadcast.web.charts import line_chart_svg
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.pages.session import PagePrincipal, PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

AMPLIFIER = {"ok": "bình thường", "fault": "hỏng", "off": "tắt"}
SPEAKER_LINE = {"ok": "bình thường", "open": "đứt dây", "short": "chập dây", "unknown": "không rõ"}
NETWORK = {"cellular": "di động (3G/4G)", "ethernet": "cáp mạng", "wifi": "Wi-Fi", "other": "khác"}
POWER = {"on": "bật", "off": "tắt"}
CHARTS = {  # the chart's address -> title, unit, bucket fields (last, min, max), scale
    "nhiet-do": ("Nhiệt độ trong 24 giờ qua", "°C", ("temperature_last", "temperature_min", "temperature_max"), 1),
    "nguon": ("Điện áp nguồn trong 24 giờ qua", "V", ("supply_last", "supply_min", "supply_max"), 1000),
}


def health_context(container, uow, principal: Principal, device_id: str) -> dict:
    """What the device page shows of health; nothing when the device never sent any (a v1.0 device)."""
    health = device_health(uow, container.clock, Actor(principal), device_id, history=False)
    return {"health": health.current, "health_at": health.at, "amplifier_labels": AMPLIFIER,
            "line_labels": SPEAKER_LINE, "network_labels": NETWORK, "power_labels": POWER}


@router.get("/thiet-bi/{device_id}/suc-khoe/{chart}.svg", name="device_health_chart")
def health_chart(device_id: str, chart: str, request: Request, container: ContainerDep, uow: UowDep,
                 principal: PagePrincipal) -> Response:
    if chart not in CHARTS:
        return Response("Không có biểu đồ này.", status_code=404, media_type="text/plain; charset=utf-8")
    title, unit, (last, lo, hi), scale = CHARTS[chart]
    now = container.clock.now()
    health = device_health(uow, container.clock, Actor(principal), device_id, start=now - timedelta(days=1), end=now)
    tz = container.settings.tz
    kept = [b for b in health.history if getattr(b, last) is not None]
    points = [(b.bucket.astimezone(tz).strftime("%H:%M %d/%m"), getattr(b, last) / scale) for b in kept]
    band = [(getattr(b, lo) / scale, getattr(b, hi) / scale) for b in kept]
    return Response(line_chart_svg(title, points, unit, band), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=60"})
