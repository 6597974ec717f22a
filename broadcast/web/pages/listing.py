"""What the play-log, report and administration pages share: dates typed as dd/mm/yyyy, the areas a user may pick
for an action, and page links that keep the filters."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from urllib.parse import urlencode

from broadcast.domain.areas import Area, AreaLevel
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import InvalidInput
from broadcast.services.areas import list_areas
from broadcast.services.overview import top_areas
from broadcast.services.ports import UnitOfWork

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
PAGE_SIZE = 50
MAX_COMMUNES = 2000  # a province has a few hundred communes at most


def parse_day(text: str | None, label: str) -> date | None:
    """'31/12/2026' as typed (or '2026-12-31' from a date input); empty is None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if found := _DMY.match(text):
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label} phải là một ngày có thật, dạng dd/mm/yyyy (ví dụ 28/11/2026).",
                           code="invalid_date") from None


def day_text(day: date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""


def local_span(first: date | None, last: date | None, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """From the start of the local day `first` to the end of the local day `last` (inclusive), as instants."""
    if first and last and first > last:
        raise InvalidInput("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.", code="invalid_period")
    since = datetime.combine(first, time(), tzinfo=tz) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz) if last else None
    return since, until


@dataclass(frozen=True)
class AreaChoice:
    code: str
    label: str
    group: str  # the province, for <optgroup>


def area_choices(uow: UnitOfWork, principal: Principal, action: Action) -> list[AreaChoice]:
    """Every area the principal may act on for `action`: each granted province followed by its communes, and
    communes granted alone. The services check the rights again; this only builds the list to pick from."""
    choices: list[AreaChoice] = []
    for area in top_areas(uow, principal.areas_for(action)):
        group = area.name if area.level is AreaLevel.PROVINCE else _province_name(uow, area)
        choices.append(AreaChoice(area.code, _label(area), group))
        if area.level is AreaLevel.PROVINCE:
            communes = list_areas(uow, level=None, parent_code=area.code, query=None, limit=MAX_COMMUNES, offset=0)
            choices += [AreaChoice(c.code, _label(c), group) for c in sorted(communes, key=lambda c: c.name)]
    return choices


def _label(area: Area) -> str:
    return f"{area.name} (toàn tỉnh)" if area.level is AreaLevel.PROVINCE else area.name


def _province_name(uow: UnitOfWork, area: Area) -> str:
    if not area.parent_code:
        return area.name
    with uow:
        parent = uow.areas.get(area.parent_code)
    return parent.name if parent else area.name


@dataclass(frozen=True)
class Pager:
    """Page n of a listing read with limit = size + 1: one row more than shown says there is a next page."""

    number: int
    size: int
    has_next: bool
    base: str
    params: Mapping[str, str]

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def link(self, number: int) -> str:
        """The address of page `number` with the same filters (`params`, as the page wants them in its address);
        page 1 has no number."""
        kept = {k: v for k, v in self.params.items() if k != "trang"}
        params = {**kept, **({"trang": str(number)} if number > 1 else {})}
        return f"{self.base}?{urlencode(params)}" if params else self.base

    @property
    def previous(self) -> str | None:
        return self.link(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.link(self.number + 1) if self.has_next else None


def page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) <= 100_000 else 1


def filled(params: Mapping[str, str], *, always: tuple[str, ...] = ()) -> dict[str, str]:
    """The filters worth an address: those with a value, and those of `always` even empty."""
    return {k: v for k, v in params.items() if v or k in always}
