"""The areas a set of grants covers, as pickers list them: each granted area, a province followed by its communes."""
from __future__ import annotations

from collections.abc import Iterable

from broadcast.domain.areas import Area, AreaLevel
from broadcast.services.ports import UnitOfWork

MAX_COMMUNES = 1000  # a province has a few hundred


def areas_within(uow: UnitOfWork, codes: Iterable[str]) -> tuple[Area, ...]:
    """Granted areas in code order, each province followed by its communes; unknown codes are skipped."""
    found: dict[str, Area] = {}
    with uow:
        for code in sorted(set(codes)):
            area = uow.areas.get(code)
            if area is None:
                continue
            found.setdefault(area.code, area)
            if area.level is AreaLevel.PROVINCE:
                for commune in uow.areas.list(parent_code=area.code, level=AreaLevel.COMMUNE, limit=MAX_COMMUNES):
                    found.setdefault(commune.code, commune)
    return tuple(found.values())
