"""Page 1, home: for the signed-in user's areas, what plays now and next, today's timeline, devices online and
offline, approvals waiting, and failures and misses of the last day. The panels refresh themselves (htmx)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response

from broadcast.services.overview import home_overview
from broadcast.services.playlog import OUTCOME_LABELS_VI
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.pages.session import PagePrincipal, PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
REFRESH_S = 60


def _context(container, uow, principal) -> dict:
    overview = home_overview(uow, principal, container.clock.now(), container.settings.timezone)
    return {"o": overview, "outcome_labels": OUTCOME_LABELS_VI, "refresh_s": REFRESH_S}


@router.get("/", name="home")
def home(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal) -> Response:
    return request.app.state.pages.render(request, "home.html", **_context(container, uow, principal))


@router.get("/trang-chu/bang-tin", name="home_panels")
def home_panels(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal) -> Response:
    """The home page's panels alone, for their periodic refresh."""
    return request.app.state.pages.render(request, "home_panels.html", **_context(container, uow, principal))
