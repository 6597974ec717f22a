"""Administrative areas (2025 two-level model: province -> commune) and zones below communes."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

ZONE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ZONE_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


class AreaLevel(StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: AreaLevel
    division_type: str
    parent_code: str | None

    def chain(self) -> tuple[str, ...]:
        """Codes from this area up to its province: what a role bound higher up covers."""
        return (self.code, self.parent_code) if self.parent_code else (self.code,)


def area_zone_id(area: Area) -> str:
    """Every area is also a zone devices listen on: '37' for a province, '37-13579' for a commune."""
    return area.code if area.parent_code is None else f"{area.parent_code}-{area.code}"


def slugify(text: str) -> str:
    """ASCII slug of a Vietnamese name: 'Thôn Đông 3' -> 'thon-dong-3'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")


def commune_zone_id(province_code: str, commune_code: str, slug: str) -> str:
    zone_id = f"{province_code}-{commune_code}-{slug}"
    if not ZONE_SLUG_RE.match(slug) or not ZONE_ID_RE.match(zone_id):
        from broadcast.domain.errors import InvalidInput

        raise InvalidInput(f"Mã vùng không hợp lệ: {slug!r} (chỉ chữ thường không dấu, số và dấu gạch ngang)")
    return zone_id


@dataclass(frozen=True)
class Zone:
    """A named group of devices under one commune: a village (thôn, xóm, tổ dân phố) or any set."""

    id: str
    name: str
    kind: str
    commune_code: str
    description: str = ""
