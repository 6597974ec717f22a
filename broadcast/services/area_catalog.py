"""The official 2025 list of provinces and communes, from the vietnam-provinces package."""
from __future__ import annotations

from collections.abc import Iterator

import vietnam_provinces as vp

from broadcast.domain.areas import Area, AreaLevel


def _code(value: int, width: int) -> str:
    """Official codes (the package's IntEnums) are zero-padded: provinces two digits ('01'), communes five ('00070')."""
    return f"{int(value):0{width}d}"


def official_areas(province_code: str | None = None) -> Iterator[Area]:
    """Provinces first, then their communes, so parents always exist before children."""
    provinces = [p for p in vp.Province.iter_all() if province_code is None or _code(p.code, 2) == province_code]
    wanted = set()
    for province in provinces:
        code = _code(province.code, 2)
        wanted.add(code)
        yield Area(code=code, name=province.name, level=AreaLevel.PROVINCE,
                   division_type=province.division_type.value, parent_code=None)
    for ward in vp.Ward.iter_all():
        parent = _code(ward.province_code, 2)
        if parent in wanted:
            yield Area(code=_code(ward.code, 5), name=ward.name, level=AreaLevel.COMMUNE,
                       division_type=ward.division_type.value, parent_code=parent)


def province_codes() -> set[str]:
    return {_code(p.code, 2) for p in vp.Province.iter_all()}
