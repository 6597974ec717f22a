"""Per-area broadcast policy: allowed windows (quiet hours outside), daily minutes, weekdays; inherited."""
from __future__ import annotations

import itertools

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import InvalidInput
from broadcast.domain.policy import DEFAULT_POLICY, Window, effective_policy
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, UnitOfWork


def set_policy(uow: UnitOfWork, clock: Clock, actor: Actor, area_code: str, *, windows: list[str] | None,
               max_minutes_per_day: int | None, weekdays: list[int] | None) -> dict:
    if windows is not None:
        parsed = sorted(Window.parse(w) for w in windows)
        if not parsed:
            raise InvalidInput("Cần ít nhất một khung giờ được phát.", code="policy.no_window")
        if any(a.end_minute > b.start_minute for a, b in itertools.pairwise(parsed)):
            raise InvalidInput("Các khung giờ phát không được chồng lên nhau.", code="policy.overlapping_windows")
        windows = [str(w).replace("–", "-") for w in parsed]
    if weekdays is not None:
        if not weekdays or any(not 0 <= d <= 6 for d in weekdays):
            raise InvalidInput("Ngày trong tuần phải từ 0 (Thứ Hai) đến 6 (Chủ nhật).", code="policy.invalid_weekday")
        weekdays = sorted(set(weekdays))
    with uow:
        area = get_area(uow, area_code)
        actor.require(Action.MANAGE_POLICY, area.chain())
        uow.policies.put(area.code, windows=windows, max_minutes_per_day=max_minutes_per_day, weekdays=weekdays,
                         by=actor.name, at=clock.now())
        audit(uow, clock, actor, "policy.set", "area", area.code, area_code=area.code, windows=windows,
              max_minutes_per_day=max_minutes_per_day, weekdays=weekdays)
        uow.commit()
    return describe_policy(uow, actor.principal, area_code)


def describe_policy(uow: UnitOfWork, principal: Principal | None, area_code: str) -> dict:
    """The area's own overrides and the policy in force after inheritance from its province."""
    with uow:
        area = get_area(uow, area_code)
        if principal is not None:
            principal.require(Action.READ, area.chain())
        chain = [uow.policies.get(area.parent_code)] if area.parent_code else []
        effective = effective_policy([*chain, uow.policies.get(area.code)], DEFAULT_POLICY)
        return {
            "area_code": area.code,
            "own": uow.policies.raw(area.code),
            "inherited_from": area.parent_code,
            "effective": {
                "windows": [[str(w).replace("–", "-") for w in day] for day in effective.windows],
                "max_minutes_per_day": effective.max_minutes_per_day,
                "weekdays": sorted(effective.allowed_weekdays),
            },
        }
