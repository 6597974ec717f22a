"""How long an editor's live session may run: inside the allowed window of every target area, and within what is
left today of each area's daily cap (`max_minutes_per_day`).

The day's use counts what schedule submission counts (services/planning.py `policy_violations`: the approved
schedules aimed at the area or its province, every occurrence of the day) plus the area's earlier live sessions
of the day, so scheduled programmes and live talk share one cap. Emergencies count for nothing and are never
capped.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from broadcast.domain.live import LiveSession, cap_end, counted_s, live_end
from broadcast.domain.policy import Policy, effective_policy
from broadcast.domain.recurrence import zone_for
from broadcast.services.planning import Plan, load_plan, occurrences
from broadcast.services.ports import LiveUnitOfWork


def area_policy(uow: LiveUnitOfWork, chain: Sequence[str]) -> Policy:
    """The policy in force for a target's area: its own override over its province's (chain is narrowest first)."""
    return effective_policy([uow.policies.get(code) for code in reversed(chain)])


def _scheduled_s(plan: Plan, chain: Sequence[str], day: tuple[datetime, datetime]) -> int:
    areas = set(chain)
    return sum(int((o.end - o.start).total_seconds())
               for spec in plan.specs.values() if areas & spec.targets.areas
               for o in occurrences(spec, *day) if not o.priority.policy_exempt)


def _reaches(session: LiveSession, chain: Sequence[str]) -> bool:
    """Whether an earlier session was aimed at this area or one holding it (as schedules are counted)."""
    return any(c and c[0] in chain for c in session.targets.get("chains", []))


def editor_end(uow: LiveUnitOfWork, chains: Sequence[Sequence[str]], now: datetime, max_length: timedelta,
               tz: str) -> datetime:
    """The end of a normal or priority session starting now; InvalidInput (policy.*) when it may not start."""
    policies = [area_policy(uow, chain) for chain in chains]
    capped = [(chain, policy) for chain, policy in zip(chains, policies, strict=True)
              if policy.max_minutes_per_day is not None]
    limits: list[datetime] = []
    if capped:
        local = now.astimezone(zone_for(tz))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        day = (midnight, midnight + timedelta(days=1))
        plan = load_plan(uow, tz)
        earlier = uow.live.created_between(*day)
        for chain, policy in capped:
            used = _scheduled_s(plan, chain, day) + sum(counted_s(s, now) for s in earlier if _reaches(s, chain))
            end = cap_end(policy, used, now)
            if end is not None:
                limits.append(end)
    return live_end(policies, now, max_length, tz, limits=limits)
