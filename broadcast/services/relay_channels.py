"""The relay channel catalogue: stations programmes may relay, managed by administrators, probed on a timer.

Anyone signed in reads the catalogue (an editor picks a channel for a relay programme); administrators add, change
and remove channels, each change audited. A channel some programme relays cannot be removed: that programme's
schedules would lose what they play. The probe job looks at every channel's stream (adapters/stream_probe.py) and
records what it found, so a station that is down shows on the page before its relay is due; the devices still
report for themselves (`failed`, stream_unreachable) when it is down at the hour.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import Conflict, NotFound, PermissionDenied
from broadcast.domain.relay_channels import ChannelDraft, ChannelKind, ProbeResult, RelayChannel, check_draft
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, RelayUnitOfWork

log = logging.getLogger(__name__)

Prober = Callable[[str], ProbeResult]  # url -> what a look at it found


def _require_admin(actor: Actor) -> None:
    # The catalogue is shared by every area, as the pronunciation dictionary is: administrators manage it.
    actor.require(Action.MANAGE_USERS, None)


def _get(uow: RelayUnitOfWork, channel_id: int) -> RelayChannel:
    channel = uow.relay_channels.get(channel_id)
    if channel is None:
        raise NotFound(f"Không tìm thấy kênh tiếp sóng số {channel_id}.", code="relay_channel_not_found")
    return channel


def _unique_name(uow: RelayUnitOfWork, name: str, channel_id: int | None = None) -> None:
    other = uow.relay_channels.by_name(name)
    if other is not None and other.id != channel_id:
        raise Conflict(f"Đã có kênh tiếp sóng tên “{name}”.", code="relay_channel_exists")


def list_channels(uow: RelayUnitOfWork, principal: Principal) -> Sequence[RelayChannel]:
    if not principal.may(Action.READ, None):
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền xem danh mục kênh tiếp sóng.")
    with uow:
        return uow.relay_channels.all()


def get_channel(uow: RelayUnitOfWork, principal: Principal, channel_id: int) -> RelayChannel:
    if not principal.may(Action.READ, None):
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền xem danh mục kênh tiếp sóng.")
    with uow:
        return _get(uow, channel_id)


def create_channel(uow: RelayUnitOfWork, clock: Clock, actor: Actor, draft: ChannelDraft) -> RelayChannel:
    _require_admin(actor)
    draft = check_draft(draft)
    with uow:
        _unique_name(uow, draft.name)
        now = clock.now()
        channel = uow.relay_channels.add(RelayChannel(
            id=0, name=draft.name, url=draft.url, kind=ChannelKind(draft.kind), created_by=actor.name,
            created_at=now, updated_at=now))
        audit(uow, clock, actor, "relay_channel.create", "relay_channel", channel.id, name=channel.name,
              url=channel.url, kind=channel.kind.value)
        uow.commit()
        return channel


def update_channel(uow: RelayUnitOfWork, clock: Clock, actor: Actor, channel_id: int,
                   draft: ChannelDraft) -> RelayChannel:
    """Change a channel; programmes relaying it play the new URL from their next compile on."""
    _require_admin(actor)
    draft = check_draft(draft)
    with uow:
        before = _get(uow, channel_id)
        _unique_name(uow, draft.name, channel_id)
        channel = uow.relay_channels.save(replace(before, name=draft.name, url=draft.url,
                                                  kind=ChannelKind(draft.kind), updated_at=clock.now()))
        audit(uow, clock, actor, "relay_channel.update", "relay_channel", channel_id, name=channel.name,
              url=channel.url, kind=channel.kind.value, previous_url=before.url, previous_name=before.name)
        uow.commit()
        return channel


def delete_channel(uow: RelayUnitOfWork, clock: Clock, actor: Actor, channel_id: int) -> None:
    _require_admin(actor)
    with uow:
        channel = _get(uow, channel_id)
        using = uow.relay_channels.programmes_using(channel_id)
        if using:
            raise Conflict(f"Kênh “{channel.name}” đang được {using} chương trình tiếp sóng nên không xóa được.",
                           code="relay_channel_in_use")
        uow.relay_channels.delete(channel_id)
        audit(uow, clock, actor, "relay_channel.delete", "relay_channel", channel_id, name=channel.name,
              url=channel.url)
        uow.commit()


def _record(uow: RelayUnitOfWork, channel: RelayChannel, probe: ProbeResult) -> RelayChannel | None:
    with uow:
        if not uow.relay_channels.record_probe(channel.id, channel.url, probe):
            return None  # removed, or moved to another URL, while it was being probed
        uow.commit()
        if channel.probe is None or channel.probe.reachable != probe.reachable:
            log.log(logging.INFO if probe.reachable else logging.WARNING, "relay channel %s (%s) %s%s",
                    channel.name, channel.url, "reachable" if probe.reachable else "unreachable",
                    f": {probe.error}" if probe.error else "")
        return replace(channel, probe=probe)


def probe_channels(uow: RelayUnitOfWork, prober: Prober) -> list[RelayChannel]:
    """Probe every channel (no transaction is held while a stream is looked at); the channels as recorded."""
    with uow:
        channels = list(uow.relay_channels.all())
    out = []
    for channel in channels:
        recorded = _record(uow, channel, prober(channel.url))
        if recorded is not None:
            out.append(recorded)
    return out


def probe_channel(uow: RelayUnitOfWork, actor: Actor, channel_id: int, prober: Prober) -> RelayChannel:
    """An administrator's "check now" of one channel."""
    _require_admin(actor)
    with uow:
        channel = _get(uow, channel_id)
    recorded = _record(uow, channel, prober(channel.url))
    if recorded is None:
        raise Conflict("Kênh vừa bị xóa hoặc đổi địa chỉ trong lúc kiểm tra; hãy thử lại.",
                       code="relay_channel_changed")
    return recorded
