"""Render claims on both databases with real ffmpeg: two processes sharing one database and data dir (two containers:
own engines, processors and job queues) render an asset once; a claim another live process holds, and keeps
renewing, is left alone; an expired one is taken up by the runtime's sweep without a restart; a render that lost
its claim records nothing."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from sqlalchemy import select

from broadcast.adapters.jobs import ThreadJobQueue
from broadcast.domain.audio import AudioMeta
from broadcast.domain.errors import InvalidInput
from broadcast.persistence.models import AudioAssetRow
from broadcast.runtime import AUDIO_RESUME_JOB, Runtime
from broadcast.services import audio_claims
from broadcast.services.audio import resume_pending, upload_audio
from broadcast.services.audio_claims import CLAIM_TTL, RenderClaim
from broadcast.services.context import Actor
from tests.integration.audio.test_audioapi_upload import files_under, post_file
from tests.support.app import HOAN_KIEM, make_container, user, wipe
from tests.support.audio_fixtures import generate
from tests.support.broker import anon_broker, broker_factory  # noqa: F401 - fixture re-export

pytestmark = pytest.mark.integration
THIS_PROCESS = f"{socket.gethostname()}:{os.getpid()}:"


class GatedProcessor:
    """The real processor; its render can be made to wait for `release` (a long render) and then to fail."""

    def __init__(self, real, *, gate: bool = False, fail: bool = False):
        self.real = real
        self.renders = 0
        self.started = threading.Event()
        self.release = threading.Event()
        if not gate:
            self.release.set()
        self.fail = fail

    def render(self, *args, **kwargs):
        self.renders += 1
        self.started.set()
        assert self.release.wait(120)
        if self.fail:
            raise InvalidInput("Tệp hỏng giữa chừng.", code="render_broken")
        return self.real.render(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


class Lost:
    """A job queue whose process dies before the job runs: the asset stays processing, unclaimed."""

    def submit(self, job):
        """Dropped, never run: the process is gone."""


@pytest.fixture
def other(tmp_path, database_url, clock):
    """A second server process on the same database and data dir."""
    container = make_container(tmp_path, database_url, clock=clock)
    yield container
    container.close()


def pending_upload(container, client, tmp_path) -> int:
    editor = user(container, client, "editor", "editor", HOAN_KIEM)
    source = generate(tmp_path / "ban-tin.wav", seconds=3, rate=16000)
    container.jobs, real_jobs = Lost(), container.jobs
    try:
        return post_file(client, editor, source).json()["id"]
    finally:
        container.jobs = real_jobs


def row(container, asset_id: int) -> AudioAssetRow:
    with container.engine.connect() as connection:
        return connection.execute(select(AudioAssetRow).where(AudioAssetRow.id == asset_id)).one()


def resume(container, processor, jobs) -> int:
    return resume_pending(container.uow, container.clock, processor, jobs, container.spool_dir)


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def test_two_processes_racing_render_once(container, client, other, tmp_path):
    asset_id = pending_upload(container, client, tmp_path)
    start_together = threading.Barrier(2)

    class Together(ThreadJobQueue):  # both jobs reach their claim at the same moment
        def submit(self, job):
            super().submit(lambda: (start_together.wait(30), job()))

    processors = [GatedProcessor(container.audio), GatedProcessor(other.audio)]
    queues = [Together(), Together()]
    assert [resume(c, p, q) for c, p, q in zip((container, other), processors, queues, strict=True)] == [1, 1]
    assert all(q.drain(timeout=120) for q in queues)
    assert sum(p.renders for p in processors) == 1
    done = row(container, asset_id)
    assert done.status == "ready" and done.render_claimed_by.startswith(THIS_PROCESS)
    assert files_under(container.spool_dir) == []


def test_a_renewed_claim_of_a_live_process_is_left_to_it(container, client, other, tmp_path, clock, monkeypatch):
    monkeypatch.setattr(audio_claims, "RENEW_EVERY_S", 0.05)
    asset_id = pending_upload(container, client, tmp_path)
    rendering, jobs = GatedProcessor(container.audio, gate=True), ThreadJobQueue()
    assert resume(container, rendering, jobs) == 1
    assert rendering.started.wait(60)
    first_until = row(container, asset_id).render_claimed_until
    # A render longer than the claim: the renewals move its end on, so another process never sees it lapse.
    for _ in range(3):
        clock.advance(seconds=CLAIM_TTL.total_seconds() * 0.75)
        wait_until(lambda: row(container, asset_id).render_claimed_until.replace(tzinfo=None)
                   >= (clock.now() + CLAIM_TTL * 0.9).replace(tzinfo=None), 10, "the claim renewed")
    assert row(container, asset_id).render_claimed_until > first_until
    idle, other_jobs = GatedProcessor(other.audio), ThreadJobQueue()
    assert resume(other, idle, other_jobs) == 0
    rendering.release.set()
    assert jobs.drain(timeout=120) and other_jobs.drain(timeout=10)
    assert idle.renders == 0 and rendering.renders == 1
    assert row(container, asset_id).status == "ready"


class Sweeping(Runtime):
    """The real runtime, noting what each run of its audio sweep took up."""

    def __init__(self, container):
        super().__init__(container, compile_every_s=None)
        self.sweeps: list[int] = []

    def resume_audio(self) -> int:
        taken = super().resume_audio()
        self.sweeps.append(taken)
        return taken


def test_an_expired_claim_is_rendered_by_the_runtime_sweep(tmp_path, database_url, clock, anon_broker):  # noqa: F811
    container = make_container(tmp_path, database_url, clock=clock, mqtt_url=anon_broker.url)
    runtime = Sweeping(container)
    try:
        source = generate(tmp_path / "ban-tin.wav", seconds=3, rate=16000)
        asset_id = upload_audio(container.uow(), clock, Actor(None), container.audio, Lost(), container.uow,
                                upload=source, original_name="ban-tin.wav", spool_dir=container.spool_dir,
                                meta=AudioMeta("Bản tin", "vi", "grassroots_mediation", "speech", HOAN_KIEM)).id
        dead = "tram-2:4242:0badc0de"  # a renderer killed mid-render: its claim is never renewed
        assert RenderClaim.take(container.uow, clock, asset_id, holder=dead) is not None
        runtime.start()
        wait_until(lambda: runtime.sweeps == [0], 30, "the sweep at start")  # the claim is live: left alone
        assert (row(container, asset_id).status, row(container, asset_id).render_claimed_by) == ("processing", dead)
        clock.advance(seconds=CLAIM_TTL.total_seconds() + 1)
        runtime.timer.wake(AUDIO_RESUME_JOB)  # what the sweep does every minute, without waiting the minute
        wait_until(lambda: row(container, asset_id).status != "processing", 120, "the asset rendered again")
        assert runtime.sweeps == [0, 1]
        done = row(container, asset_id)
        assert done.status == "ready" and done.render_claimed_by.startswith(THIS_PROCESS)
        assert files_under(container.spool_dir) == []
    finally:
        runtime.stop()
        wipe(container)
        container.close()


def test_a_render_that_lost_its_claim_records_nothing(container, client, other, tmp_path, clock, monkeypatch):
    monkeypatch.setattr(audio_claims, "RENEW_EVERY_S", 3600.0)  # a renderer paused past its claim (SIGSTOP, GC)
    asset_id = pending_upload(container, client, tmp_path)
    paused, paused_jobs = GatedProcessor(container.audio, gate=True, fail=True), ThreadJobQueue()
    assert resume(container, paused, paused_jobs) == 1
    assert paused.started.wait(60)
    clock.advance(seconds=CLAIM_TTL.total_seconds() + 1)
    taking_over, jobs = GatedProcessor(other.audio, gate=True), ThreadJobQueue()
    assert resume(other, taking_over, jobs) == 1
    assert taking_over.started.wait(60)
    new_holder = row(container, asset_id).render_claimed_by

    paused.release.set()  # it wakes up and would record `failed`
    assert paused_jobs.drain(timeout=60)
    after = row(container, asset_id)
    assert (after.status, after.error_code, after.render_claimed_by) == ("processing", None, new_holder)
    assert len(files_under(container.spool_dir)) == 1  # the upload stays for the new holder

    taking_over.release.set()
    assert jobs.drain(timeout=120)
    done = row(container, asset_id)
    assert (done.status, done.error_code, done.render_claimed_by) == ("ready", None, new_holder)
    assert files_under(container.spool_dir) == []
