"""Audio assets in SQL."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from broadcast.domain.audio import AssetStatus, AudioAsset
from broadcast.persistence.models import AudioAssetRow, BulletinRow, EmergencyRow, ProgrammeItemRow
from broadcast.persistence.repositories import _aware, within_areas_clause

_FIELDS = ("title", "kind", "language", "topic", "area_code", "profile", "original_name", "created_by",
           "original_sha256", "sha256", "bytes", "duration_ms", "loudness", "silences", "tts_text", "voice",
           "error_code", "error_message")


def _asset(row: AudioAssetRow) -> AudioAsset:
    return AudioAsset(id=row.id, status=AssetStatus(row.status), created_at=_aware(row.created_at),
                      **{name: getattr(row, name) for name in _FIELDS})


def _claim_free(now: datetime):
    return or_(AudioAssetRow.render_claimed_until.is_(None), AudioAssetRow.render_claimed_until <= now)


def _held_by(asset_id: int, holder: str) -> tuple:
    return (AudioAssetRow.id == asset_id, AudioAssetRow.status == AssetStatus.PROCESSING.value,
            AudioAssetRow.render_claimed_by == holder)


class SqlAudioRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, asset: AudioAsset) -> AudioAsset:
        row = AudioAssetRow(status=asset.status.value, created_at=asset.created_at, updated_at=asset.created_at,
                            **{name: getattr(asset, name) for name in _FIELDS})
        self.session.add(row)
        self.session.flush()
        return _asset(row)

    def get(self, asset_id: int) -> AudioAsset | None:
        row = self.session.get(AudioAssetRow, asset_id)
        return _asset(row) if row else None

    def list(self, *, within_areas, status, topic, language, limit, offset) -> Sequence[AudioAsset]:
        stmt = select(AudioAssetRow).order_by(AudioAssetRow.id.desc()).limit(limit).offset(offset)
        if within_areas is not None:
            stmt = stmt.where(or_(AudioAssetRow.area_code.is_(None),
                                  within_areas_clause(AudioAssetRow.area_code, within_areas)))
        for column, value in ((AudioAssetRow.status, status), (AudioAssetRow.topic, topic),
                              (AudioAssetRow.language, language)):
            if value is not None:
                stmt = stmt.where(column == value)
        return [_asset(r) for r in self.session.scalars(stmt)]

    def delete(self, asset_id: int) -> None:
        self.session.execute(delete(AudioAssetRow).where(AudioAssetRow.id == asset_id))

    def in_use(self, asset_id: int) -> bool:
        """Whether a programme plays this asset, or an emergency or a central bulletin refers to it (their records
        of what played stay whole)."""
        uses = (select(ProgrammeItemRow.programme_id).where(ProgrammeItemRow.asset_id == asset_id),
                select(EmergencyRow.id).where(EmergencyRow.audio_id == asset_id),
                select(BulletinRow.id).where(BulletinRow.asset_id == asset_id))
        return any(self.session.scalar(stmt.limit(1)) is not None for stmt in uses)

    def processing(self, *, unclaimed_at: datetime) -> Sequence[AudioAsset]:
        """Assets still processing that no process holds a render claim on at `unclaimed_at`."""
        stmt = select(AudioAssetRow).where(AudioAssetRow.status == AssetStatus.PROCESSING.value,
                                           _claim_free(unclaimed_at))
        return [_asset(r) for r in self.session.scalars(stmt)]

    def claim_render(self, asset_id: int, holder: str, *, now: datetime, until: datetime) -> bool:
        """Take the render claim if the asset is still processing and nobody holds a live claim on it.

        One conditional UPDATE: of two processes racing, the second finds the first's claim (PostgreSQL re-checks
        the condition on the row the first committed; SQLite has one writer) and updates nothing."""
        return self._changed(update(AudioAssetRow).where(
            AudioAssetRow.id == asset_id, AudioAssetRow.status == AssetStatus.PROCESSING.value, _claim_free(now),
        ).values(render_claimed_by=holder, render_claimed_until=until))

    def renew_render_claim(self, asset_id: int, holder: str, *, until: datetime) -> bool:
        """Extend `holder`'s claim; False when the asset is done or another process took the claim."""
        return self._changed(update(AudioAssetRow).where(*_held_by(asset_id, holder))
                             .values(render_claimed_until=until))

    def finish_render(self, asset_id: int, holder: str, *, at: datetime, **fields) -> bool:
        """Record the outcome of a render (ready or failed) only for the process that still holds the claim; an
        expired claim nobody took meanwhile still counts (the work is done)."""
        values = {name: value.value if isinstance(value, AssetStatus) else value for name, value in fields.items()}
        return self._changed(update(AudioAssetRow).where(*_held_by(asset_id, holder))
                             .values(**values, updated_at=at))

    def _changed(self, stmt) -> bool:
        return self.session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]

    def sha256_known(self, sha256: str) -> bool:
        stmt = select(AudioAssetRow.id).where(AudioAssetRow.sha256 == sha256,
                                              AudioAssetRow.status == AssetStatus.READY.value).limit(1)
        return self.session.scalar(stmt) is not None
