"""CAP 1.2 alerts (OASIS Common Alerting Protocol) turned into emergency broadcasts.

Mapping (docs/emergencies.md has the table): status Actual plays, Test/Exercise reach only test devices,
System/Draft are accepted and not broadcast; msgType Alert starts, Update stops what it references and starts,
Cancel stops what it references. Area geocodes named VN-ADMIN, iso3166-2:VN or loaxa:area carry our area codes.
Audio comes from the first audio <resource> (downloaded by the caller's fetcher, or embedded in derefUri), else
text-to-speech of description and instruction. Rights come first; then the same sender+identifier is imported once
per area it is sent for, and references reach only emergencies the sender may see: another province's alert with
the same identifier stays invisible to it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from broadcast.domain.auth import Action
from broadcast.domain.errors import InvalidInput, NotFound, TooLarge
from broadcast.services.context import Actor, audit
from broadcast.services.emergencies import (
    DEFAULT_EXPIRY,
    MAX_EXPIRY,
    AudioFile,
    EmergencyRequest,
    EmergencyTools,
    may_read,
    plan_targets,
    prepare_emergency,
    stage_emergency,
    stage_stop,
)
from broadcast.services.ports import Emergency, UnitOfWork

NS = "urn:oasis:names:tc:emergency:cap:1.2"
AREA_VALUE_NAMES = ("VN-ADMIN", "iso3166-2:VN", "loaxa:area")  # compared case-insensitively
AREA_CODE_RE = re.compile(r"^(\d{2}|\d{5})$")
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SOURCE = "cap"
MAX_EMBEDDED_BYTES = 20 * 1024 * 1024

# (url) -> audio on disk owned by the caller afterwards; raises InvalidInput / TooLarge with a Vietnamese message.
Fetcher = Callable[[str], AudioFile]


@dataclass(frozen=True)
class CapResource:
    description: str
    mime_type: str
    uri: str | None
    deref: str | None  # base64 content embedded in the alert


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    references: tuple[str, ...]  # "sender,identifier" keys of earlier alerts
    language: str = ""
    event: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    expires: datetime | None = None
    area_codes: tuple[str, ...] = ()
    resources: tuple[CapResource, ...] = ()

    @property
    def key(self) -> str:
        return alert_key(self.sender, self.identifier)


def alert_key(sender: str, identifier: str) -> str:
    """The idempotency key stored as the emergency's external_id (hashed when longer than the column)."""
    key = f"{sender},{identifier}"
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _bad(message: str, code: str = "invalid_cap") -> InvalidInput:
    return InvalidInput(message, code=code)


def _text(element: Element, name: str) -> str:
    child = element.find(f"{{{NS}}}{name}")
    return (child.text or "").strip() if child is not None else ""


def _required(element: Element, name: str) -> str:
    value = _text(element, name)
    if not value:
        raise _bad(f"Cảnh báo CAP thiếu trường bắt buộc <{name}>.")
    return value


def _time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _bad(f"Trường <{name}> phải là thời điểm có múi giờ, ví dụ 2026-11-29T06:00:00+07:00.")
    return parsed


def _choose_info(infos: Sequence[Element]) -> Element | None:
    """The Vietnamese <info> when there are several languages, else the first."""
    for info in infos:
        if _text(info, "language").lower().startswith("vi"):
            return info
    return infos[0] if infos else None


def _area_codes(info: Element) -> tuple[str, ...]:
    wanted = {n.lower() for n in AREA_VALUE_NAMES}
    codes: list[str] = []
    for area in info.findall(f"{{{NS}}}area"):
        for geocode in area.findall(f"{{{NS}}}geocode"):
            if _text(geocode, "valueName").lower() not in wanted:
                continue
            value = _text(geocode, "value")
            if not AREA_CODE_RE.match(value):
                raise _bad(f"Mã địa bàn {value!r} không hợp lệ: cần mã tỉnh 2 chữ số hoặc mã xã 5 chữ số.",
                           "cap_bad_area_code")
            codes.append(value)
    return tuple(dict.fromkeys(codes))


def parse_cap(data: bytes) -> CapAlert:
    """Untrusted XML -> CapAlert; entities and DTDs are refused (defusedxml)."""
    try:
        root = SafeET.fromstring(data)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise _bad(f"Nội dung không phải XML hợp lệ hoặc chứa cấu trúc bị cấm ({type(exc).__name__}).") from None
    if root.tag != f"{{{NS}}}alert":
        raise _bad("Tài liệu không phải cảnh báo CAP 1.2 (cần phần tử <alert> thuộc không gian tên "
                   f"{NS}).")
    status, msg_type = _required(root, "status"), _required(root, "msgType")
    if status not in STATUSES:
        raise _bad(f"Giá trị <status> không hợp lệ: {status!r}.")
    if msg_type not in MSG_TYPES:
        raise _bad(f"Giá trị <msgType> không hợp lệ: {msg_type!r}.")
    references = tuple(dict.fromkeys(
        alert_key(*ref.split(",")[:2]) for ref in _text(root, "references").split() if ref.count(",") >= 1))
    alert = CapAlert(identifier=_required(root, "identifier"), sender=_required(root, "sender"),
                     sent=_required(root, "sent"), status=status, msg_type=msg_type, references=references)
    info = _choose_info(root.findall(f"{{{NS}}}info"))
    if info is None:
        return alert
    expires = _text(info, "expires")
    resources = tuple(CapResource(description=_text(r, "resourceDesc"), mime_type=_text(r, "mimeType"),
                                  uri=_text(r, "uri") or None, deref=_text(r, "derefUri") or None)
                      for r in info.findall(f"{{{NS}}}resource"))
    return CapAlert(**{**alert.__dict__, "language": _text(info, "language"), "event": _text(info, "event"),
                       "headline": _text(info, "headline"), "description": _text(info, "description"),
                       "instruction": _text(info, "instruction"),
                       "expires": _time(expires, "expires") if expires else None,
                       "area_codes": _area_codes(info), "resources": resources})


@dataclass(frozen=True)
class CapOutcome:
    action: str  # started | duplicate | stopped | ignored
    message: str  # for the officer, in Vietnamese
    emergency: Emergency | None = None
    stopped: tuple[int, ...] = ()


def _audio_resource(alert: CapAlert) -> CapResource | None:
    for resource in alert.resources:
        if (resource.uri or resource.deref) and (not resource.mime_type or resource.mime_type.startswith("audio/")):
            return resource
    return None


def _embedded(resource: CapResource, work_dir: Path) -> AudioFile:
    try:
        content = base64.b64decode(resource.deref or "", validate=False)
    except (binascii.Error, ValueError):
        raise _bad("Nội dung âm thanh nhúng (derefUri) không phải base64 hợp lệ.", "cap_bad_resource") from None
    if len(content) > MAX_EMBEDDED_BYTES:
        raise TooLarge("Âm thanh nhúng trong cảnh báo quá lớn.", code="too_large")
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = work_dir / f"cap-{uuid.uuid4().hex}.bin"
    path.write_bytes(content)
    return AudioFile(path, "cap-resource.bin")


def _expires(alert: CapAlert, now: datetime) -> datetime:
    if alert.expires is None:
        return now + DEFAULT_EXPIRY
    expires = alert.expires.replace(microsecond=0)
    if expires <= now:
        raise InvalidInput(f"Cảnh báo CAP đã hết hiệu lực lúc {alert.expires.isoformat()}; không phát.",
                           code="cap_expired")
    return min(expires, now + MAX_EXPIRY)  # an emergency lasts at most 24 h


def _referenced(uow: UnitOfWork, actor: Actor, alert: CapAlert) -> list[Emergency]:
    """What the references name, among the emergencies the actor may see (others are as if unknown)."""
    found: dict[int, Emergency] = {}
    for key in alert.references:
        for emergency in uow.emergencies.by_external_id(SOURCE, key):
            if actor.principal is None or may_read(actor.principal, emergency):
                found[emergency.id] = emergency
    return list(found.values())


def _imported(uow: UnitOfWork, alert: CapAlert, owner: str) -> Emergency | None:
    """This alert already imported for the same area (the unique key is source, external id and area)."""
    return next((e for e in uow.emergencies.by_external_id(SOURCE, alert.key) if e.area_code == owner), None)


DUPLICATE = "Cảnh báo CAP này đã được nhận trước đó; không phát lại."


def import_cap(uow: UnitOfWork, tools: EmergencyTools, actor: Actor, data: bytes, *, fetch: Fetcher) -> CapOutcome:
    """Apply one CAP message; nothing is written when it is refused."""
    actor.require(Action.SEND_EMERGENCY, None)  # somewhere; each target is checked below
    alert = parse_cap(data)
    if alert.status in ("System", "Draft") or alert.msg_type in ("Ack", "Error"):
        with uow:
            audit(uow, tools.clock, actor, "emergency.cap_ignored", "cap", alert.key, status=alert.status,
                  msg_type=alert.msg_type)
            uow.commit()
        return CapOutcome("ignored", f"Đã nhận cảnh báo CAP ({alert.status}/{alert.msg_type}); không phát.")
    if alert.msg_type == "Cancel":
        return _cancel(uow, tools, actor, alert)

    with uow:
        if not alert.area_codes:
            raise InvalidInput("Cảnh báo CAP không có địa bàn nhận (geocode VN-ADMIN, iso3166-2:VN hoặc loaxa:area).",
                               code="cap_no_area")
        test_only = alert.status in ("Test", "Exercise")
        # Targets and rights first: no duplicate answer (it could show another province's alert), no download and
        # no speech synthesis for a refused alert.
        plan = plan_targets(uow, actor, areas=alert.area_codes, zones=(), devices=(), test_only=test_only)
        existing = _imported(uow, alert, plan.owner)
        if existing:
            return CapOutcome("duplicate", DUPLICATE, existing)
        previous = [e for e in _referenced(uow, actor, alert) if e.status == "active"] \
            if alert.msg_type == "Update" else []
        for emergency in previous:
            for chain in emergency.targets.get("chains", [[emergency.area_code]]):
                actor.require(Action.SEND_EMERGENCY, chain)
    expires_at = _expires(alert, tools.clock.now())
    resource = _audio_resource(alert)
    text = " ".join(t for t in (alert.description, alert.instruction) if t) or alert.headline
    if resource is None and not text:
        raise InvalidInput("Cảnh báo CAP không có âm thanh (resource) hay nội dung để đọc (description, "
                           "instruction).", code="cap_no_audio")
    audio_file = None
    if resource is not None:
        audio_file = fetch(resource.uri) if resource.uri else _embedded(resource, tools.work_dir)
    try:
        reason = (alert.headline or alert.event or text or alert.identifier)[:1000]
        request = EmergencyRequest(reason=reason, areas=alert.area_codes, audio_file=audio_file,
                                   text=None if audio_file else text, expires_at=expires_at, test_only=test_only)
        prepared = prepare_emergency(uow, tools, actor, request)
    finally:
        if audio_file is not None:
            audio_file.path.unlink(missing_ok=True)
    with uow:
        existing = _imported(uow, alert, prepared.plan.owner)  # a concurrent import of the same alert
        if existing:
            return CapOutcome("duplicate", DUPLICATE, existing)
        stopped = []
        for emergency in [e for e in _referenced(uow, actor, alert) if e.status == "active"]:
            stage_stop(uow, tools.clock, tools.signer, actor, emergency, why=f"CAP Update {alert.identifier}")
            stopped.append(emergency.id)
        emergency = stage_emergency(uow, tools, actor, prepared, source=SOURCE, external_id=alert.key)
        uow.commit()
    message = "Đã phát cảnh báo CAP" + (" cho thiết bị thử nghiệm" if test_only else "") + "."
    return CapOutcome("started", message, emergency, tuple(stopped))


def _cancel(uow: UnitOfWork, tools: EmergencyTools, actor: Actor, alert: CapAlert) -> CapOutcome:
    with uow:
        referenced = _referenced(uow, actor, alert)
        if not referenced:
            raise NotFound("Không tìm thấy cảnh báo CAP được tham chiếu để hủy.", code="cap_reference_not_found")
        active = [e for e in referenced if e.status == "active"]
        for emergency in active:
            stage_stop(uow, tools.clock, tools.signer, actor, emergency, why=f"CAP Cancel {alert.identifier}")
        if not active:
            return CapOutcome("duplicate", "Các cảnh báo được tham chiếu đã dừng trước đó.", referenced[0],
                              tuple(e.id for e in referenced))
        uow.commit()
        return CapOutcome("stopped", f"Đã dừng {len(active)} lệnh khẩn cấp theo cảnh báo hủy.",
                          uow.emergencies.get(active[0].id), tuple(e.id for e in active))
