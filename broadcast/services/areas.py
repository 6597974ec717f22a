"""Use cases for administrative areas and zones."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from broadcast.domain.areas import Area, AreaLevel, Zone, commune_zone_id, slugify
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import AlreadyExists, InvalidInput, NotFound
from broadcast.domain.text import clean_text
from broadcast.services.context import Actor, audit
from broadcast.services.ports import AreaUnitOfWork, Clock, UnitOfWork

ZONE_KINDS = ("village", "residential_group", "hamlet", "group")


def seed_areas(uow: UnitOfWork, clock: Clock, areas: Iterable[Area], actor: Actor) -> dict[str, int]:
    """Load the official list; running it again changes nothing (upsert by code)."""
    with uow:
        added = uow.areas.upsert_many(areas)
        if added:
            audit(uow, clock, actor, "areas.seed", "area", "*", added=added)
        uow.commit()
        return {
            "added": added,
            "provinces": uow.areas.count(AreaLevel.PROVINCE),
            "communes": uow.areas.count(AreaLevel.COMMUNE),
        }


def get_area(uow: AreaUnitOfWork, code: str) -> Area:
    with uow:
        area = uow.areas.get(code)
    if area is None:
        raise NotFound(f"Không tìm thấy đơn vị hành chính có mã {code}.", code="area_not_found")
    return area


def list_areas(uow: UnitOfWork, *, level: AreaLevel | None, parent_code: str | None, query: str | None,
               limit: int, offset: int) -> Sequence[Area]:
    """Areas are public reference data: any signed-in user may read the whole list."""
    with uow:
        if parent_code is not None:
            get_area(uow, parent_code)
        return uow.areas.list(level=level, parent_code=parent_code, query=query, limit=limit, offset=offset)


def create_zone(uow: UnitOfWork, clock: Clock, actor: Actor, *, commune_code: str, name: str, kind: str,
                slug: str | None = None, description: str = "") -> Zone:
    name = clean_text(name, "Tên vùng phát")  # NFC, so the uniqueness check sees NFD twins as the same name
    description = clean_text(description, "Mô tả vùng phát", multiline=True)
    if not name or len(name) > 200:
        raise InvalidInput("Tên vùng phát phải có từ 1 đến 200 ký tự.", code="invalid_zone_name")
    if kind not in ZONE_KINDS:
        raise InvalidInput(f"Loại vùng phát phải là một trong: {', '.join(ZONE_KINDS)}.", code="invalid_zone_kind")
    with uow:
        commune = get_area(uow, commune_code)
        if commune.level is not AreaLevel.COMMUNE:
            raise InvalidInput("Vùng phát phải thuộc một xã, phường hoặc đặc khu.", code="zone_needs_commune")
        actor.require(Action.MANAGE_ZONES, commune.chain())
        zone = Zone(id=commune_zone_id(commune.parent_code or "", commune.code, slug or slugify(name)),
                    name=name, kind=kind, commune_code=commune.code, description=description.strip())
        if uow.zones.get(zone.id) or uow.zones.name_taken(commune.code, name):
            raise AlreadyExists(f"Vùng phát “{name}” đã tồn tại trong {commune.name}.", code="zone_exists")
        uow.zones.add(zone, created_by=actor.name, created_at=clock.now())
        audit(uow, clock, actor, "zone.create", "zone", zone.id, area_code=commune.code, name=name, kind=kind)
        uow.commit()
        return zone


def list_zones(uow: UnitOfWork, principal: Principal, *, commune_code: str | None, limit: int,
               offset: int) -> Sequence[Zone]:
    with uow:
        if commune_code is not None:
            principal.require(Action.READ, get_area(uow, commune_code).chain())
        return uow.zones.list(commune_code=commune_code, within_areas=frozenset(principal.areas_for(Action.READ)),
                              limit=limit, offset=offset)
