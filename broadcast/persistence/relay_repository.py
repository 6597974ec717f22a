"""The relay channel catalogue in SQL: one row per station, with its last probe."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcast.domain.relay_channels import ChannelKind, ProbeResult, RelayChannel
from broadcast.persistence.models import ProgrammeRow
from broadcast.persistence.models_relay import RelayChannelRow
from broadcast.persistence.repositories import _aware


def _channel(row: RelayChannelRow) -> RelayChannel:
    probe = None
    if row.probe_checked_at is not None:
        probe = ProbeResult(checked_at=_aware(row.probe_checked_at), reachable=bool(row.probe_reachable),
                            codec=row.probe_codec, bitrate_kbps=row.probe_bitrate_kbps, error=row.probe_error)
    return RelayChannel(id=row.id, name=row.name, url=row.url, kind=ChannelKind(row.kind), created_by=row.created_by,
                        created_at=_aware(row.created_at), updated_at=_aware(row.updated_at), probe=probe)


class SqlRelayChannelRepository:
    def __init__(self, session: Session):
        self.session = session

    def all(self) -> Sequence[RelayChannel]:
        return [_channel(r) for r in self.session.scalars(select(RelayChannelRow).order_by(RelayChannelRow.name))]

    def get(self, channel_id: int) -> RelayChannel | None:
        row = self.session.get(RelayChannelRow, channel_id)
        return _channel(row) if row else None

    def by_name(self, name: str) -> RelayChannel | None:
        row = self.session.scalars(select(RelayChannelRow).where(RelayChannelRow.name == name)).first()
        return _channel(row) if row else None

    def add(self, channel: RelayChannel) -> RelayChannel:
        row = RelayChannelRow(name=channel.name, url=channel.url, kind=channel.kind.value,
                              created_by=channel.created_by, created_at=channel.created_at,
                              updated_at=channel.updated_at)
        self.session.add(row)
        self.session.flush()
        return _channel(row)

    def save(self, channel: RelayChannel) -> RelayChannel:
        """Name, URL and kind; a changed URL forgets the old probe (it was of another stream)."""
        row = self.session.get_one(RelayChannelRow, channel.id)
        if row.url != channel.url:
            row.probe_checked_at = row.probe_reachable = row.probe_codec = None
            row.probe_bitrate_kbps = row.probe_error = None
        row.name, row.url, row.kind, row.updated_at = channel.name, channel.url, channel.kind.value, channel.updated_at
        self.session.flush()
        return _channel(row)

    def delete(self, channel_id: int) -> None:
        row = self.session.get(RelayChannelRow, channel_id)
        if row is not None:
            self.session.delete(row)
            self.session.flush()

    def record_probe(self, channel_id: int, url: str, probe: ProbeResult) -> bool:
        """Store a probe of `url`; False (nothing stored) when the channel is gone or its URL changed meanwhile."""
        row = self.session.get(RelayChannelRow, channel_id)
        if row is None or row.url != url:
            return False
        row.probe_checked_at, row.probe_reachable = probe.checked_at, probe.reachable
        row.probe_codec, row.probe_bitrate_kbps = probe.codec, probe.bitrate_kbps
        row.probe_error = probe.error[:500] if probe.error else None
        self.session.flush()
        return True

    def programmes_using(self, channel_id: int) -> int:
        return self.session.scalar(
            select(func.count()).select_from(ProgrammeRow).where(ProgrammeRow.relay_channel_id == channel_id)) or 0
