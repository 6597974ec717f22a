"""Use cases for programmes: what plays (audio in order, or a relay stream), with its topic and legal basis."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from broadcast.domain.audio import LANGUAGES, TOPICS, AssetStatus, AudioAsset
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import SOURCES, LegalRef, MediaRef, Programme
from broadcast.domain.text import clean_text
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.ports import AreaUnitOfWork, Clock, ScheduleUnitOfWork, UnitOfWork

MAX_ITEMS = 50
MAX_STREAM_MS = 4 * 3600 * 1000


@dataclass(frozen=True)
class ProgrammeDraft:
    title: str
    area_code: str
    topic: str = "other"
    language: str = "vi"
    source: str = "commune"
    priority: str = "normal"
    asset_ids: tuple[int, ...] = ()
    stream_url: str | None = None
    stream_duration_ms: int | None = None
    legal_refs: tuple[LegalRef, ...] = field(default_factory=tuple)
    bulletin_id: str | None = None
    relay_channel_id: int | None = None  # relay a catalogued channel (services/relay_channels.py)


def _check(draft: ProgrammeDraft) -> Priority:
    title = draft.title.strip()
    if not title or len(title) > 300:
        raise InvalidInput("Tên chương trình phải có từ 1 đến 300 ký tự.", code="invalid_title")
    if draft.topic not in TOPICS:
        raise InvalidInput(f"Chủ đề không hợp lệ: {draft.topic!r}.", code="invalid_topic")
    if draft.language not in LANGUAGES:
        raise InvalidInput(f"Ngôn ngữ không hợp lệ: {draft.language!r}.", code="invalid_language")
    if draft.source not in SOURCES:
        raise InvalidInput(f"Nguồn không hợp lệ: {draft.source!r}.", code="invalid_source")
    if sum((bool(draft.asset_ids), bool(draft.stream_url), draft.relay_channel_id is not None)) != 1:
        raise InvalidInput("Chương trình gồm các tệp âm thanh, một địa chỉ luồng hoặc một kênh tiếp sóng (chỉ một "
                           "trong ba).", code="programme_content")
    if len(draft.asset_ids) > MAX_ITEMS:
        raise InvalidInput(f"Tối đa {MAX_ITEMS} tệp âm thanh mỗi chương trình.", code="programme_content")
    if draft.stream_url is not None:
        parts = urlsplit(draft.stream_url)
        if parts.scheme not in ("http", "https", "rtsp", "rtmp", "icecast") or not parts.hostname:
            raise InvalidInput("Địa chỉ luồng tiếp sóng không hợp lệ.", code="invalid_stream_url")
    if draft.stream_url is not None or draft.relay_channel_id is not None:
        if not draft.stream_duration_ms or not 1000 <= draft.stream_duration_ms <= MAX_STREAM_MS:
            raise InvalidInput("Thời lượng tiếp sóng phải từ 1 giây đến 4 giờ.", code="invalid_stream_duration")
    for ref in draft.legal_refs:
        if not ref.law.strip() or len(ref.law) > 300:
            raise InvalidInput("Căn cứ pháp lý phải có tên văn bản.", code="invalid_legal_ref")
    return Priority.parse(draft.priority)


def _cleaned(draft: ProgrammeDraft) -> ProgrammeDraft:
    refs = tuple(LegalRef(clean_text(r.law, "Căn cứ pháp lý"), clean_text(r.number, "Số hiệu văn bản"),
                          clean_text(r.article, "Điều khoản")) for r in draft.legal_refs)
    return replace(draft, title=clean_text(draft.title, "Tên chương trình"), legal_refs=refs)


def _check_assets(uow: UnitOfWork, actor: Actor, asset_ids: Sequence[int]) -> None:
    for asset_id in asset_ids:
        asset = uow.audio.get(asset_id)
        if asset is None:
            raise NotFound(f"Không tìm thấy tệp âm thanh số {asset_id}.", code="audio_not_found")
        if asset.area_code is not None:
            actor.require(Action.READ, get_area(uow, asset.area_code).chain())
        if asset.status is AssetStatus.FAILED:
            raise InvalidInput(f"Tệp âm thanh số {asset_id} bị lỗi xử lý, không dùng được.", code="audio_failed")


def _relay_url(uow: UnitOfWork, draft: ProgrammeDraft) -> str | None:
    """What the programme streams: its own URL, or the picked channel's (kept current by the repository)."""
    if draft.relay_channel_id is None:
        return draft.stream_url
    channel = uow.relay_channels.get(draft.relay_channel_id)
    if channel is None:
        raise NotFound(f"Không tìm thấy kênh tiếp sóng số {draft.relay_channel_id}.", code="relay_channel_not_found")
    return channel.url


def create_programme(uow: UnitOfWork, clock: Clock, actor: Actor, draft: ProgrammeDraft) -> Programme:
    draft = _cleaned(draft)
    priority = _check(draft)
    with uow:
        area = get_area(uow, draft.area_code)
        actor.require(Action.EDIT_SCHEDULES, area.chain())
        _check_assets(uow, actor, draft.asset_ids)
        programme = uow.programmes.add(Programme(
            id=0, title=draft.title.strip(), topic=draft.topic, language=draft.language, source=draft.source,
            priority=priority, area_code=area.code, created_by=actor.name, created_at=clock.now(),
            asset_ids=tuple(draft.asset_ids), stream_url=_relay_url(uow, draft),
            stream_duration_ms=draft.stream_duration_ms, legal_refs=tuple(draft.legal_refs),
            bulletin_id=draft.bulletin_id, relay_channel_id=draft.relay_channel_id))
        audit(uow, clock, actor, "programme.create", "programme", programme.id, area_code=area.code,
              title=programme.title, priority=priority.value)
        uow.commit()
        return programme


def update_programme(uow: UnitOfWork, clock: Clock, actor: Actor, programme_id: int,
                     draft: ProgrammeDraft) -> Programme:
    """Change a programme no schedule uses yet. Once one does, what it plays was (or will be) approved as it is: a
    change then is a new programme, so an approver never finds a schedule playing something else than decided."""
    draft = _cleaned(draft)
    priority = _check(draft)
    with uow:
        current = uow.programmes.get(programme_id)
        if current is None:
            raise NotFound(f"Không tìm thấy chương trình số {programme_id}.", code="programme_not_found")
        actor.require(Action.EDIT_SCHEDULES, get_area(uow, current.area_code).chain())
        area = get_area(uow, draft.area_code)
        actor.require(Action.EDIT_SCHEDULES, area.chain())
        if current.bulletin_id:
            raise Conflict("Chương trình này là bản tin nhận từ hệ thống trung ương, không sửa được.",
                           code="programme_from_bulletin")
        if uow.schedules.uses_programme(programme_id):
            raise Conflict("Chương trình đã có lịch phát dùng đến nên không sửa được; hãy tạo bản sao rồi sửa bản sao.",
                           code="programme_in_use")
        _check_assets(uow, actor, draft.asset_ids)
        programme = uow.programmes.save(replace(
            current, title=draft.title.strip(), topic=draft.topic, language=draft.language, source=draft.source,
            priority=priority, area_code=area.code, asset_ids=tuple(draft.asset_ids), stream_url=_relay_url(uow, draft),
            stream_duration_ms=draft.stream_duration_ms, legal_refs=tuple(draft.legal_refs),
            relay_channel_id=draft.relay_channel_id))
        audit(uow, clock, actor, "programme.update", "programme", programme.id, area_code=area.code,
              title=programme.title, priority=priority.value)
        uow.commit()
        return programme


def may_edit_programme(uow: AreaUnitOfWork, principal: Principal, programme: Programme) -> bool:
    """Whether the principal may change this programme or make a copy of it in the same area."""
    return principal.may(Action.EDIT_SCHEDULES, get_area(uow, programme.area_code).chain())


def reusable_provinces(uow: AreaUnitOfWork, principal: Principal) -> frozenset[str]:
    """Provinces whose own programmes the principal reads only by `may_read_programme`'s reuse rule: the province
    of each commune it works in, when it has no right on the province itself."""
    readable = principal.areas_for(Action.READ)
    found = set()
    with uow:  # callers may hold no transaction: a repository used outside one would keep its connection
        for code in readable:
            area = uow.areas.get(code)
            if area is not None and area.parent_code and area.parent_code not in readable:
                found.add(area.parent_code)
    return frozenset(found)


def may_read_programme(uow: AreaUnitOfWork, principal: Principal, programme: Programme) -> bool:
    """The one rule for reading a programme, and so for putting it in a schedule: the principal may read its area,
    or it belongs to the province of a commune the principal works in (communes reuse their province's programmes,
    e.g. the bulletin pool)."""
    area = get_area(uow, programme.area_code)
    if principal.may(Action.READ, area.chain()):
        return True
    if area.parent_code is not None:
        return False
    with uow:
        return any((found := uow.areas.get(code)) is not None and found.parent_code == area.code
                   for code in principal.areas_for(Action.READ))


def get_programme(uow: UnitOfWork, principal: Principal, programme_id: int) -> Programme:
    with uow:
        programme = uow.programmes.get(programme_id)
        if programme is None:
            raise NotFound(f"Không tìm thấy chương trình số {programme_id}.", code="programme_not_found")
        if not may_read_programme(uow, principal, programme):
            raise PermissionDenied(f"Tài khoản {principal.username} không có quyền xem chương trình số {programme_id}.")
        return programme


def list_programmes(uow: UnitOfWork, principal: Principal, *, topic: str | None, limit: int, offset: int,
                    area_code: str | None = None, query: str | None = None) -> Sequence[Programme]:
    """Every programme the principal may read (`may_read_programme`): those of its areas, and its communes'
    province programmes, which they reuse. `area_code` narrows to one area, `query` searches the titles."""
    with uow:
        provinces = reusable_provinces(uow, principal)
        within, exact = frozenset(principal.areas_for(Action.READ)), provinces
        if area_code:
            area = get_area(uow, area_code)
            if principal.may(Action.READ, area.chain()):
                within, exact = frozenset({area.code}), frozenset()
            elif area.code in provinces:
                within, exact = frozenset(), frozenset({area.code})
            else:
                raise PermissionDenied(f"Tài khoản {principal.username} không có quyền xem chương trình của khu vực "
                                       "này.")
        return uow.programmes.list(within_areas=within, exact_areas=exact, topic=topic, query=query, limit=limit,
                                   offset=offset)


def programme_contents(uow: UnitOfWork, principal: Principal, programme_id: int,
                       ) -> tuple[Programme, list[AudioAsset]]:
    """A programme and its audio in playing order: whoever may read (and so schedule) a programme may hear what it
    plays, a province programme's audio included."""
    programme = get_programme(uow, principal, programme_id)
    with uow:
        assets = [uow.audio.get(asset_id) for asset_id in programme.asset_ids]
    return programme, [a for a in assets if a is not None]


@dataclass(frozen=True)
class Playable:
    """What a device needs to play a programme, or why it cannot yet."""

    duration_ms: int
    media: tuple[MediaRef, ...] = ()
    stream_url: str | None = None
    not_ready: tuple[int, ...] = ()


def playable(uow: ScheduleUnitOfWork, programmes: Sequence[Programme]) -> dict[int, Playable]:
    media = uow.programmes.media([p.id for p in programmes if p.asset_ids])
    out = {}
    for programme in programmes:
        if programme.stream_url:
            out[programme.id] = Playable(programme.stream_duration_ms or 0, stream_url=programme.stream_url)
            continue
        refs = media.get(programme.id, [])
        ready = tuple(m for m, _status in refs if m is not None)
        waiting = tuple(aid for aid, (m, _s) in zip(programme.asset_ids, refs, strict=False) if m is None)
        out[programme.id] = Playable(sum(m.duration_ms for m in ready), media=ready, not_ready=waiting)
    return out


def programme_of(uow: ScheduleUnitOfWork, programme_id: int) -> Programme:
    """The programme a stored schedule names (a foreign key keeps it there)."""
    programme = uow.programmes.get(programme_id)
    if programme is None:
        raise NotFound(f"Không tìm thấy chương trình số {programme_id}.", code="programme_not_found")
    return programme


def require_playable(uow: ScheduleUnitOfWork, programme: Programme) -> Playable:
    ready = playable(uow, [programme])[programme.id]
    if ready.not_ready:
        raise InvalidInput(
            "Âm thanh của chương trình chưa sẵn sàng (tệp số " + ", ".join(map(str, ready.not_ready)) + ").",
            code="audio_not_ready")
    return ready
