"""Use cases of the device registry: register, import, rotate a secret, disable, list with live state."""
from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace

from broadcast.domain.areas import AreaLevel
from broadcast.domain.auth import Action, Principal
from broadcast.domain.devices import (
    Connection,
    Device,
    DeviceQuery,
    DeviceState,
    MapPoint,
    check_device_fields,
    is_server_name,
)
from broadcast.domain.errors import AlreadyExists, DomainError, InvalidInput, NotFound
from broadcast.domain.text import clean_text
from broadcast.protocol.broker_config import hash_password as broker_password_hash
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, UnitOfWork


@dataclass(frozen=True)
class DeviceSpec:
    id: str
    name: str
    area_code: str
    zones: tuple[str, ...] = ()
    vendor: str = ""
    model: str = ""
    latitude: float | None = None
    longitude: float | None = None
    connection: str = Connection.OTHER.value
    test_device: bool = False


@dataclass(frozen=True)
class Registered:
    device: Device
    mqtt_password: str  # shown once


def new_device_secret() -> str:
    return secrets.token_urlsafe(24)


def _connection(value: str) -> Connection:
    try:
        return Connection(value)
    except ValueError:
        raise InvalidInput(f"Kiểu kết nối không hợp lệ: {value!r}. Hợp lệ: {', '.join(c.value for c in Connection)}.",
                           code="invalid_connection") from None


def register_device(uow: UnitOfWork, clock: Clock, actor: Actor, spec: DeviceSpec) -> Registered:
    spec = replace(spec, name=clean_text(spec.name, "Tên thiết bị"), vendor=clean_text(spec.vendor, "Hãng sản xuất"),
                   model=clean_text(spec.model, "Kiểu thiết bị"))
    check_device_fields(spec.id, spec.name, spec.latitude, spec.longitude)
    connection = _connection(spec.connection)
    with uow:
        commune = get_area(uow, spec.area_code)
        if commune.level is not AreaLevel.COMMUNE:
            raise InvalidInput("Thiết bị phải thuộc một xã, phường hoặc đặc khu.", code="device_needs_commune")
        actor.require(Action.MANAGE_DEVICES, commune.chain())
        for zone_id in spec.zones:
            zone = uow.zones.get(zone_id)
            if zone is None or zone.commune_code != commune.code:
                raise InvalidInput(f"Vùng phát {zone_id!r} không tồn tại trong {commune.name}.", code="unknown_zone")
        if uow.devices.get(spec.id):
            raise AlreadyExists(f"Mã thiết bị {spec.id} đã được đăng ký.", code="device_exists")
        device = Device(id=spec.id, name=spec.name.strip(), commune_code=commune.code,
                        province_code=commune.parent_code or "", zones=tuple(dict.fromkeys(spec.zones)),
                        vendor=spec.vendor.strip(), model=spec.model.strip(), latitude=spec.latitude,
                        longitude=spec.longitude, connection=connection, test_device=spec.test_device)
        password = new_device_secret()
        uow.devices.add(device, mqtt_password_hash=broker_password_hash(password), created_at=clock.now())
        audit(uow, clock, actor, "device.register", "device", device.id, area_code=commune.code,
              vendor=device.vendor, zones=list(device.zones))
        uow.commit()
        return Registered(device, password)


CSV_COLUMNS = ("id", "name", "area_code", "zones", "vendor", "model", "latitude", "longitude", "connection",
               "test_device")


@dataclass(frozen=True)
class ImportRow:
    line: int
    device_id: str
    ok: bool
    message: str
    mqtt_password: str | None = None


def parse_device_csv(text: str) -> list[tuple[int, DeviceSpec | DomainError]]:
    """Rows of a registry CSV (header required; zones separated by ';'); a bad row becomes its error."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"id", "name", "area_code"} - set(reader.fieldnames or ())
    if missing:
        raise InvalidInput(f"Tệp CSV thiếu cột: {', '.join(sorted(missing))}.", code="csv_missing_columns")
    rows: list[tuple[int, DeviceSpec | DomainError]] = []
    for line, raw in enumerate(reader, start=2):
        try:
            lat, lon = (raw.get("latitude") or "").strip(), (raw.get("longitude") or "").strip()
            rows.append((line, DeviceSpec(
                id=(raw.get("id") or "").strip(), name=(raw.get("name") or "").strip(),
                area_code=(raw.get("area_code") or "").strip(),
                zones=tuple(z.strip() for z in (raw.get("zones") or "").split(";") if z.strip()),
                vendor=raw.get("vendor") or "", model=raw.get("model") or "",
                latitude=float(lat) if lat else None, longitude=float(lon) if lon else None,
                connection=(raw.get("connection") or Connection.OTHER.value).strip(),
                test_device=(raw.get("test_device") or "").strip().lower() in ("1", "true", "yes", "x"))))
        except ValueError:
            rows.append((line, InvalidInput("Tọa độ phải là số.", code="invalid_location")))
    return rows


def import_devices(uow: UnitOfWork, clock: Clock, actor: Actor, text: str) -> list[ImportRow]:
    """Each row in its own transaction: one bad row does not stop the others."""
    results = []
    for line, parsed in parse_device_csv(text):
        if isinstance(parsed, DomainError):
            results.append(ImportRow(line, "", False, parsed.message))
            continue
        try:
            registered = register_device(uow, clock, actor, parsed)
            results.append(ImportRow(line, parsed.id, True, "đã đăng ký", registered.mqtt_password))
        except DomainError as exc:
            results.append(ImportRow(line, parsed.id, False, exc.message))
    return results


def _existing(uow: UnitOfWork, device_id: str) -> Device:
    device = uow.devices.get(device_id)
    if device is None:
        raise NotFound(f"Không tìm thấy thiết bị {device_id}.", code="device_not_found")
    return device


def rotate_secret(uow: UnitOfWork, clock: Clock, actor: Actor, device_id: str) -> str:
    with uow:
        device = _existing(uow, device_id)
        actor.require(Action.MANAGE_DEVICES, device.area_chain())
        password = new_device_secret()
        uow.devices.set_password_hash(device.id, broker_password_hash(password))
        audit(uow, clock, actor, "device.rotate_secret", "device", device.id, area_code=device.commune_code)
        uow.commit()
        return password


def set_disabled(uow: UnitOfWork, clock: Clock, actor: Actor, device_id: str, disabled: bool) -> Device:
    with uow:
        device = _existing(uow, device_id)
        actor.require(Action.MANAGE_DEVICES, device.area_chain())
        uow.devices.set_disabled(device.id, disabled)
        audit(uow, clock, actor, "device.disable" if disabled else "device.enable", "device", device.id,
              area_code=device.commune_code)
        uow.commit()
        return _existing(uow, device_id)


def _scoped(uow: UnitOfWork, principal: Principal, query: DeviceQuery) -> DeviceQuery:
    """The query limited to where the principal reads, after checking the area and zone it names."""
    if query.area_code is not None:
        principal.require(Action.READ, get_area(uow, query.area_code).chain())
    if query.zone_id is not None:
        zone = uow.zones.get(query.zone_id)
        if zone is None:
            raise NotFound(f"Không tìm thấy vùng phát {query.zone_id}.", code="zone_not_found")
    return DeviceQuery(**{**query.__dict__, "within_areas": frozenset(principal.areas_for(Action.READ))})


def list_devices(uow: UnitOfWork, principal: Principal, query: DeviceQuery) -> Sequence[tuple[Device, DeviceState]]:
    with uow:
        return uow.devices.list(_scoped(uow, principal, query))


def map_points(uow: UnitOfWork, principal: Principal, query: DeviceQuery) -> list[MapPoint]:
    """The listed devices as map markers (same filters and rights as list_devices)."""
    with uow:
        return uow.devices.map_points(_scoped(uow, principal, query))


def get_device(uow: UnitOfWork, principal: Principal, device_id: str) -> tuple[Device, DeviceState]:
    with uow:
        device = _existing(uow, device_id)
        principal.require(Action.READ, device.area_chain())
        return device, uow.devices.state(device_id)


def broker_accounts(uow: UnitOfWork) -> Sequence[tuple[str, str]]:
    """(device id, stored $7$ hash) of every enabled device, for the broker's password file. An id in the server's
    namespace (registered before it was reserved) is left out: it could take over a server session."""
    with uow:
        return [account for account in uow.devices.broker_accounts() if not is_server_name(account[0])]


def left_out_of_broker(uow: UnitOfWork) -> list[str]:
    """Enabled devices whose id belongs to the server: the broker never admits them (re-register them)."""
    with uow:
        return [device_id for device_id, _ in uow.devices.broker_accounts() if is_server_name(device_id)]
