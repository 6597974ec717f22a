"""Audio assets in SQL."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
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

    def update(self, asset_id: int, *, at: datetime, **fields) -> None:
        row = self.session.get_one(AudioAssetRow, asset_id)
        for name, value in fields.items():
            setattr(row, name, value.value if isinstance(value, AssetStatus) else value)
        row.updated_at = at

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

    def processing(self) -> Sequence[AudioAsset]:
        return [_asset(r) for r in self.session.scalars(select(AudioAssetRow)
                                                        .where(AudioAssetRow.status == AssetStatus.PROCESSING.value))]

    def sha256_known(self, sha256: str) -> bool:
        stmt = select(AudioAssetRow.id).where(AudioAssetRow.sha256 == sha256,
                                              AudioAssetRow.status == AssetStatus.READY.value).limit(1)
        return self.session.scalar(stmt) is not None
