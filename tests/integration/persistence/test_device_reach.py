"""A schedule's reach counted in SQL (`reached_by`, for the form and the inbox) is the compiler's own resolution
(scheduler.compiler.hits over the device directory), for every mix of areas, zones, devices and exclusions."""
from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from broadcast.domain.scheduling import TargetSet
from broadcast.persistence.models import DeviceRow, DeviceZoneRow, ZoneRow
from broadcast.scheduler.compiler import hits
from broadcast.services.planning import compiler_targets, device_info
from broadcast.services.schedule_checks import device_index, devices_reached, reach_counts
from tests.support.app import CUA_NAM, HANOI, HCMC, HOAN_KIEM, VUNG_TAU, device_row

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, tzinfo=UTC)
COMMUNES = (HOAN_KIEM, CUA_NAM, VUNG_TAU)
ZONES = ("z-thon-1", "z-thon-2", "z-cho")


def a_small_fleet(container) -> list[str]:
    rng = random.Random(3)
    ids = [f"loa-{n:02d}" for n in range(30)]
    with container.engine.begin() as connection:
        connection.execute(insert(ZoneRow), [{"id": z, "commune_code": HOAN_KIEM, "name": z, "kind": "village",
                                              "created_by": "t", "created_at": NOW} for z in ZONES])
        connection.execute(insert(DeviceRow), [
            device_row(d, NOW, COMMUNES[n % 3], disabled=n % 7 == 6) for n, d in enumerate(ids)])
        connection.execute(insert(DeviceZoneRow), [
            {"device_id": d, "zone_id": z} for d in ids for z in ZONES if rng.random() < 0.3])
    return ids


def target_sets(ids: list[str]):
    rng = random.Random(11)
    areas, zones = (HANOI, HCMC, *COMMUNES), ZONES
    yield TargetSet()
    yield TargetSet(areas=(HANOI,), exclude_zones=("z-cho",), exclude_devices=(ids[0],))
    for _ in range(60):
        def pick(pool, k=2):
            return tuple(rng.sample(pool, rng.randint(0, k)))
        yield TargetSet(areas=pick(areas), zones=pick(zones), devices=pick(ids, 4),
                        exclude_areas=pick(areas, 1), exclude_zones=pick(zones, 1), exclude_devices=pick(ids, 3))


def test_reach_in_sql_is_the_compilers_resolution(container):
    ids = a_small_fleet(container)
    with container.uow() as uow:
        directory = uow.devices.directory()
        index = device_index(directory)
        seen = set()
        for targets in itertools.islice(target_sets(ids), 62):
            wanted = compiler_targets(targets)
            expected = sorted(d.id for d in directory if hits(wanted, device_info(d)))
            assert uow.devices.reached_by(targets) == expected, targets
            assert list(devices_reached(uow, targets, index)) == expected, targets  # the inbox's many-schedule way
            seen.add(len(expected))
    assert len(seen) > 5  # the cases reach many different numbers of devices, none and the whole city among them
    assert 0 in seen


def test_counts_for_many_schedules_are_the_compilers_reach(container):
    """The inbox counts every waiting schedule at once: area-only sets from grouped counts, the rest one by one;
    both give the compiler's number, with disabled devices, provinces, communes and excluded areas."""
    ids = a_small_fleet(container)
    area_only = [TargetSet(areas=(HANOI,)), TargetSet(areas=(HOAN_KIEM, VUNG_TAU)), TargetSet(areas=(HCMC,)),
                 TargetSet(areas=(HANOI, HCMC), exclude_areas=(CUA_NAM,)), TargetSet(areas=(HANOI,),
                 exclude_areas=(HANOI,)), TargetSet(areas=("99",))]
    sets = area_only + list(itertools.islice(target_sets(ids), 62))
    with container.uow() as uow:
        directory = uow.devices.directory()
        expected = [sum(hits(compiler_targets(t), device_info(d)) for d in directory) for t in sets]
    assert reach_counts(container.uow(), sets) == expected
    assert reach_counts(container.uow(), sets[:3]) == expected[:3]  # few sets: no directory index
    # 10 devices per commune, one or two disabled: Hoàn Kiếm 8, Cửa Nam 9 (Hà Nội 17), Vũng Tàu 9 (TP HCM)
    assert expected[:6] == [17, 17, 9, 17, 0, 0]


def test_the_plain_list_is_the_list_without_its_state(container):
    """Pickers list devices without the versions of every publication: same devices, same order, same page."""
    from broadcast.domain.devices import DeviceQuery

    a_small_fleet(container)
    with container.uow() as uow:
        for query in (DeviceQuery(limit=7, offset=3), DeviceQuery(within_areas=frozenset({HANOI}), limit=100),
                      DeviceQuery(area_code=VUNG_TAU, include_disabled=False, limit=100),
                      DeviceQuery(zone_id="z-cho", limit=100), DeviceQuery(search="loa-1", limit=100)):
            full = [device for device, _state in uow.devices.list(query)]
            assert uow.devices.list_plain(query) == full
            assert full  # every query finds something
