"""Which areas a page offers in its area <select>s, and the names it shows for area codes (never the codes)."""
from __future__ import annotations

from collections.abc import Iterable

from broadcast.domain.areas import Area, AreaLevel
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import NotFound
from broadcast.services.areas import get_area, list_areas

MAX_COMMUNES = 5000  # more than any province has


def areas_where(uow, principal: Principal, action: Action) -> list[Area]:
    """The areas where the principal may do `action`: each area of a grant, and the communes of a granted province;
    provinces first, then communes by name."""
    found: dict[str, Area] = {}
    for code in principal.areas_for(action):
        try:
            area = get_area(uow, code)
        except NotFound:
            continue
        found[area.code] = area
        if area.level is AreaLevel.PROVINCE:
            for commune in list_areas(uow, level=AreaLevel.COMMUNE, parent_code=area.code, query=None,
                                      limit=MAX_COMMUNES, offset=0):
                found.setdefault(commune.code, commune)
    return sorted(found.values(), key=lambda a: (a.level is not AreaLevel.PROVINCE, a.name))


def area_names(uow, codes: Iterable[str | None]) -> dict[str | None, str]:
    """code -> name for the codes a page shows; None is the shared library."""
    names: dict[str | None, str] = {None: "Thư viện dùng chung"}
    for code in {c for c in codes if c is not None}:
        try:
            names[code] = get_area(uow, code).name
        except NotFound:
            names[code] = code
    return names
