"""Use cases of the audio library: upload, text-to-speech, list, delete; rendering runs in the background.

An upload is validated (probed and decoded once) before anything is written, so bad input leaves no row and
no file. The render then runs on a job queue: the asset shows `processing`, then `ready` or `failed`. Each render
claims its asset first (services/audio_claims.py), so one process at a time renders it.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from broadcast.domain.areas import Area
from broadcast.domain.audio import TTS_VOICES, AssetStatus, AudioAsset, AudioMeta
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from broadcast.domain.text import clean_text
from broadcast.services.areas import get_area
from broadcast.services.audio_claims import RenderClaim
from broadcast.services.context import Actor, audit
from broadcast.services.ports import AudioProcessor, CheckedAudio, Clock, JobQueue, UnitOfWork

log = logging.getLogger(__name__)


def _owner_area(uow: UnitOfWork, actor: Actor, area_code: str | None) -> Area | None:
    """The area an asset belongs to; None is the shared library, which only an administrator manages."""
    if area_code is None:
        actor.require(Action.MANAGE_USERS, None)
        return None
    area = get_area(uow, area_code)
    actor.require(Action.MANAGE_AUDIO, area.chain())
    return area


AREA_CODE_MISSING = ("Thiếu khu vực của tệp âm thanh (trường area_code): hãy chọn xã, phường hoặc tỉnh sở hữu tệp. "
                     "Chỉ quản trị viên mới thêm được tệp vào thư viện dùng chung.")


def _new_asset_area(uow: UnitOfWork, actor: Actor, area_code: str | None) -> Area | None:
    """The area a new asset goes to. Without one it goes to the shared library, which only an administrator may
    choose: anyone else left the field out, and is told so rather than refused a right they never asked for."""
    if area_code is None and actor.principal is not None and not actor.principal.may(Action.MANAGE_USERS, None):
        raise InvalidInput(AREA_CODE_MISSING, code="area_code_required",
                           details=[{"field": "area_code", "problem": "missing"}])
    return _owner_area(uow, actor, area_code)


def _area_chain(uow: UnitOfWork, area_code: str | None) -> tuple[str, ...] | None:
    return get_area(uow, area_code).chain() if area_code else None


def upload_audio(uow: UnitOfWork, clock: Clock, actor: Actor, processor: AudioProcessor, jobs: JobQueue,
                 uow_factory: Callable[[], UnitOfWork], *, upload: Path, original_name: str, meta: AudioMeta,
                 spool_dir: Path) -> AudioAsset:
    """`upload` is a temporary file owned by the caller; on success it is moved into the spool dir."""
    meta = meta.checked()
    original_name = clean_text(original_name, "Tên tệp")  # officers see it: no bidi trick such as "a\u202e3pm.exe"
    with uow:
        _new_asset_area(uow, actor, meta.area_code)
    checked = processor.check(upload, original_name)  # raises on anything that is not sound
    with uow:
        now = clock.now()
        asset = uow.audio.add(AudioAsset(
            id=0, title=meta.title, kind="upload", language=meta.language, topic=meta.topic, area_code=meta.area_code,
            profile=meta.profile, status=AssetStatus.PROCESSING, original_name=original_name,
            created_by=actor.name, created_at=now, duration_ms=checked.duration_ms))
        spooled = spool_dir / f"{asset.id}.{checked.extension}"
        spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.move(upload, spooled)
        audit(uow, clock, actor, "audio.upload", "audio", asset.id, area_code=meta.area_code, title=meta.title,
              file=original_name)
        uow.commit()
    jobs.submit(lambda: render_upload(uow_factory, clock, processor, asset.id, spooled, original_name,
                                      meta.profile, checked))
    return asset


def request_tts(uow: UnitOfWork, clock: Clock, actor: Actor, processor: AudioProcessor, jobs: JobQueue,
                uow_factory: Callable[[], UnitOfWork], *, text: str, voice: str, meta: AudioMeta,
                spool_dir: Path) -> AudioAsset:
    meta = meta.checked()
    text = clean_text(text, "Văn bản cần đọc", multiline=True)
    if voice not in TTS_VOICES:
        raise InvalidInput(f"Giọng đọc không hợp lệ: {voice!r}. Hợp lệ: {', '.join(TTS_VOICES)}.", code="unknown_voice")
    if meta.language != "vi":
        raise InvalidInput("Chỉ tổng hợp được tiếng Việt; tiếng dân tộc thiểu số cần tệp ghi âm.",
                           code="tts_language_unsupported")
    processor.check_text(text, voice)
    with uow:
        _new_asset_area(uow, actor, meta.area_code)
        asset = uow.audio.add(AudioAsset(
            id=0, title=meta.title, kind="tts", language="vi", topic=meta.topic, area_code=meta.area_code,
            profile="speech", status=AssetStatus.PROCESSING, original_name="tts.wav", created_by=actor.name,
            created_at=clock.now(), tts_text=text, voice=voice))
        audit(uow, clock, actor, "audio.tts", "audio", asset.id, area_code=meta.area_code, title=meta.title,
              voice=voice)
        uow.commit()
    jobs.submit(lambda: synthesize_and_render(uow_factory, clock, processor, asset.id, text, voice, spool_dir))
    return asset


def render_upload(uow_factory: Callable[[], UnitOfWork], clock: Clock, processor: AudioProcessor, asset_id: int,
                  path: Path, original_name: str, profile: str, checked: CheckedAudio | None) -> None:
    """The background half: claim the asset, render, then record ready (with loudness figures) or failed (with the
    reason). Nothing at all when another process holds the claim: it renders the asset and removes the upload."""
    claim = RenderClaim.take(uow_factory, clock, asset_id)
    if claim is None:
        log.info("audio %s is rendered by another process, or already done", asset_id)
        return
    with claim.kept():
        _render(claim, processor, path, original_name, profile, checked)


def _render(claim: RenderClaim, processor: AudioProcessor, path: Path, original_name: str, profile: str,
            checked: CheckedAudio | None) -> None:
    try:
        rendered = processor.render(path, original_name, profile, checked)
    except DomainError as exc:
        recorded = claim.finish(status=AssetStatus.FAILED, error_code=exc.code, error_message=exc.message[:500])
    except Exception as exc:  # a crash of the tool must still end in a visible state
        log.exception("render of audio %s failed", claim.asset_id)
        recorded = claim.finish(status=AssetStatus.FAILED, error_code="render_failed",
                                error_message=f"Lỗi xử lý âm thanh: {type(exc).__name__}")
    else:
        recorded = claim.finish(status=AssetStatus.READY, original_sha256=rendered.original_sha256,
                                sha256=rendered.sha256, bytes=rendered.bytes, duration_ms=rendered.duration_ms,
                                loudness=rendered.loudness, silences={"ranges_ms": rendered.silences})
    if recorded:  # otherwise the upload is the new holder's to render (and to remove)
        path.unlink(missing_ok=True)


def synthesize_and_render(uow_factory: Callable[[], UnitOfWork], clock: Clock, processor: AudioProcessor,
                          asset_id: int, text: str, voice: str, spool_dir: Path) -> None:
    claim = RenderClaim.take(uow_factory, clock, asset_id)
    if claim is None:
        log.info("audio %s is synthesized by another process, or already done", asset_id)
        return
    spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    wav = spool_dir / f"{asset_id}.tts.wav"
    with claim.kept():
        try:
            processor.synthesize(text, voice, wav)
        except DomainError as exc:
            wav.unlink(missing_ok=True)
            claim.finish(status=AssetStatus.FAILED, error_code=exc.code, error_message=exc.message[:500])
            return
        _render(claim, processor, wav, "tts.wav", "speech", None)


def resume_pending(uow_factory: Callable[[], UnitOfWork], clock: Clock, processor: AudioProcessor, jobs: JobQueue,
                   spool_dir: Path) -> int:
    """At a runtime's start and every minute after: render again what is still processing with no live render
    claim (its renderer died, or its job never ran); mark failed what lost its upload. Assets another process is
    rendering are left to it. The number of assets taken up."""
    uow = uow_factory()
    with uow:
        pending = uow.audio.processing(unclaimed_at=clock.now())
    for asset in pending:
        if asset.kind == "tts" and asset.tts_text:
            jobs.submit(partial(synthesize_and_render, uow_factory, clock, processor, asset.id, asset.tts_text,
                                asset.voice or "vi", spool_dir))
            continue
        spooled = next(iter(sorted(spool_dir.glob(f"{asset.id}.*"))), None) if spool_dir.exists() else None
        if spooled is None:
            _upload_lost(uow_factory, clock, asset.id)
        else:
            jobs.submit(partial(render_upload, uow_factory, clock, processor, asset.id, spooled,
                                asset.original_name, asset.profile, None))
    return len(pending)


def _upload_lost(uow_factory: Callable[[], UnitOfWork], clock: Clock, asset_id: int) -> None:
    """Claimed first: the upload may be missing because a renderer just finished with it and recorded the outcome."""
    claim = RenderClaim.take(uow_factory, clock, asset_id)
    if claim is not None:
        claim.finish(status=AssetStatus.FAILED, error_code="upload_lost",
                     error_message="Tệp tải lên bị mất trước khi xử lý xong (máy chủ dừng giữa chừng); "
                                   "vui lòng tải lại.")


def get_asset(uow: UnitOfWork, principal: Principal, asset_id: int) -> AudioAsset:
    with uow:
        asset = uow.audio.get(asset_id)
        if asset is None:
            raise NotFound(f"Không tìm thấy tệp âm thanh số {asset_id}.", code="audio_not_found")
        principal.require(Action.READ, _area_chain(uow, asset.area_code))
        return asset


def list_assets(uow: UnitOfWork, principal: Principal, *, status: str | None, topic: str | None,
                language: str | None, limit: int, offset: int) -> Sequence[AudioAsset]:
    with uow:
        return uow.audio.list(within_areas=frozenset(principal.areas_for(Action.READ)), status=status, topic=topic,
                              language=language, limit=limit, offset=offset)


def delete_asset(uow: UnitOfWork, clock: Clock, actor: Actor, asset_id: int) -> None:
    """Only when no programme uses it; the rendition file stays (content-addressed, maybe shared)."""
    with uow:
        asset = uow.audio.get(asset_id)
        if asset is None:
            raise NotFound(f"Không tìm thấy tệp âm thanh số {asset_id}.", code="audio_not_found")
        _owner_area(uow, actor, asset.area_code)
        if uow.audio.in_use(asset_id):
            raise Conflict("Tệp âm thanh đang được dùng trong chương trình phát, lệnh phát khẩn cấp hoặc bản tin "
                           "trung ương, không thể xóa.", code="audio_in_use")
        uow.audio.delete(asset_id)
        audit(uow, clock, actor, "audio.delete", "audio", asset_id, area_code=asset.area_code, title=asset.title)
        uow.commit()


class _RunNow:
    """A job queue that runs the job at once: the CLI waits for each render anyway."""

    def submit(self, job: Callable[[], None]) -> None:
        job()


@dataclass(frozen=True)
class ImportResult:
    path: Path
    ok: bool
    message: str
    asset: AudioAsset | None = None


def import_files(uow_factory: Callable[[], UnitOfWork], clock: Clock, processor: AudioProcessor,
                 files: Sequence[Path], *, title: str | None, language: str, topic: str, profile: str,
                 area_code: str | None, work_dir: Path, spool_dir: Path) -> Iterator[ImportResult]:
    """`loaxa audio import`: each file validated and rendered in turn; one bad file does not stop the others.

    The operator's files are copied first, never moved.
    """
    actor = Actor(None)
    for path in files:
        if not path.is_file():
            yield ImportResult(path, False, "Không tìm thấy tệp.")
            continue
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        copy = work_dir / f"import-{path.name.encode().hex()[:40]}{path.suffix.lower()[:8]}"
        try:
            shutil.copyfile(path, copy)
            meta = AudioMeta(title or path.stem, language, topic, profile, area_code)
            asset = upload_audio(uow_factory(), clock, actor, processor, _RunNow(), uow_factory, upload=copy,
                                 original_name=path.name, meta=meta, spool_dir=spool_dir)
        except DomainError as exc:
            yield ImportResult(path, False, exc.message)
            continue
        finally:
            copy.unlink(missing_ok=True)
        uow = uow_factory()
        with uow:
            done = uow.audio.get(asset.id)
        if done is None or done.status is not AssetStatus.READY:
            yield ImportResult(path, False, (done.error_message if done else None) or "Lỗi xử lý.", done)
        else:
            yield ImportResult(path, True, "sẵn sàng", done)
