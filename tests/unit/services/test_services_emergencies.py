"""Emergency broadcasts (services.emergencies) through in-memory repositories: targets resolved to topics and
tracked devices, the play_now staged with its target, authorization before anything is written, stop, and reach
counted from acks that went through the real inbox."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from broadcast import protocol
from broadcast.devices.ports import InboundMessage
from broadcast.domain.areas import Zone
from broadcast.domain.audio import AssetStatus, AudioAsset
from broadcast.domain.auth import Role
from broadcast.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from broadcast.services.delivery import DeliveryInbox
from broadcast.services.emergencies import (
    EmergencyRequest,
    EmergencyTools,
    get_emergency,
    start_emergency,
    stop_emergency,
)
from broadcast.services.ports import CheckedAudio, RenderedAudio
from tests.unit.services.fakes import FakeDatabase
from tests.unit.services.world import CUA_NAM, HANOI, HOAN_KIEM, SEEDED_AT, VUNG_TAU, device, person

STREAM = "http://radio.example.vn/vov1"
WARD_ZONE, VILLAGE = f"{HANOI}-{HOAN_KIEM}", f"{HANOI}-{HOAN_KIEM}-to-5"
WARD_OPERATOR = person("khan-cap-hk", (Role.EMERGENCY_OPERATOR, HOAN_KIEM))
CITY_OPERATOR = person("khan-cap-hn", (Role.EMERGENCY_OPERATOR, HANOI))
HOAN_KIEM_DEVICES = ["hk-0", "hk-1", "hk-t", "hk-v0"]  # enabled, by id


class FakeProcessor:
    """The audio library as the use case sees it: records what it was asked, writes and renders nothing real."""

    def __init__(self, media_dir: Path) -> None:
        self.calls: list[str] = []
        self.media_dir = media_dir  # renditions the library holds, by sha256

    def check(self, path: Path, original_name: str) -> CheckedAudio:
        self.calls.append("check")
        return CheckedAudio(duration_ms=12_300, extension=".wav")

    def render(self, path: Path, original_name: str, profile: str, checked: CheckedAudio | None) -> RenderedAudio:
        assert path.exists(), "rendered from a file that is gone"
        self.calls.append(f"render:{profile}")
        return RenderedAudio(original_sha256="cd" * 32, sha256="ab" * 32, bytes=96_000, duration_ms=12_300,
                             loudness={"integrated_lufs": -16.0}, silences=[])

    def check_text(self, text: str, voice: str) -> None:
        self.calls.append("check_text")

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        self.calls.append(f"synthesize:{voice}")
        out_path.write_bytes(b"RIFF")

    def media_path(self, sha256: str) -> Path | None:
        path = self.media_dir / f"{sha256}.mp3"
        return path if path.is_file() else None

    def render_alert(self, message: Path, original_name: str, *, repeat: int) -> RenderedAudio:
        assert message.exists(), "rendered from a file that is gone"
        self.calls.append(f"render_alert:{original_name}:{repeat}")
        return RenderedAudio(original_sha256="cd" * 32, sha256="ab" * 32, bytes=96_000, duration_ms=12_300,
                             loudness={"integrated_lufs": -16.0}, silences=[])


@pytest.fixture
def db(db: FakeDatabase) -> FakeDatabase:
    db.add(Zone(VILLAGE, "Tổ dân phố số 5", "residential_group", HOAN_KIEM),
           device("hk-0", HOAN_KIEM), device("hk-1", HOAN_KIEM), device("hk-v0", HOAN_KIEM, VILLAGE),
           device("hk-t", HOAN_KIEM, test_device=True), device("hk-off", HOAN_KIEM, disabled=True),
           device("cn-0", CUA_NAM), device("vt-0", VUNG_TAU))
    return db


@pytest.fixture
def tools(clock, signer, tmp_path) -> EmergencyTools:
    return EmergencyTools(clock=clock, signer=signer, processor=FakeProcessor(tmp_path / "media"),
                          public_url="https://loa.example.vn", work_dir=tmp_path / "tts", repeat=3)


def request(**overrides) -> EmergencyRequest:
    base = EmergencyRequest(reason="Lũ quét trên sông Hồng", areas=(HOAN_KIEM,), stream_url=STREAM,
                            expires_in_minutes=30)
    return replace(base, **overrides)


def documents(db, cmd_id: str) -> dict[tuple[str, str], dict]:
    return {(p.target_kind, p.target_id): p.document for p in db.tables.command_publications.values()
            if p.cmd_id == cmd_id}


def tracked(db, cmd_id: str) -> list[str]:
    return [d for (c, d) in db.tables.deliveries if c == cmd_id]


def nothing_written(db) -> bool:
    return not (db.tables.emergencies or db.tables.commands or db.tables.audit or db.commits)


def test_targets_become_topics_and_each_device_is_tracked(db, tools, clock, signer):
    emergency = start_emergency(db.uow(), tools, CITY_OPERATOR, request(
        zones=(VILLAGE,), devices=("hk-1", "cn-0"), volume=90, stream_minutes=10))
    stored = db.tables.emergencies[emergency.id]
    assert stored.cmd_id == emergency.cmd_id and stored.status == "active" and stored.created_by == "khan-cap-hn"
    assert stored.area_code == HANOI  # two wards: the city owns it
    assert stored.targets["publish"] == {"zones": [WARD_ZONE, VILLAGE], "devices": ["cn-0"]}  # hk-1 hears the ward
    docs = documents(db, emergency.cmd_id)
    assert set(docs) == {("zone", WARD_ZONE), ("zone", VILLAGE), ("device", "cn-0")}
    for (kind, target), doc in docs.items():
        assert protocol.verify(doc, signer.public_key_b64)
        assert doc["target"] == {kind: target} and doc["action"] == "play_now" and doc["priority"] == "emergency"
        assert doc["stream_url"] == STREAM and doc["volume"] == 90
        assert protocol.parse_time(doc["end"]) == clock.now() + timedelta(minutes=10)
        assert protocol.parse_time(doc["expires_at"]) == clock.now() + timedelta(minutes=30)
    assert tracked(db, emergency.cmd_id) == [*HOAN_KIEM_DEVICES, "cn-0"]  # never the disabled hk-off
    assert db.tables.commands[emergency.cmd_id].emergency_id == emergency.id
    (entry,) = db.tables.audit
    assert (entry.action, entry.actor, entry.object_id) == ("emergency.start", "khan-cap-hn", str(emergency.id))
    assert db.commits == 1 and tools.processor.calls == []


@pytest.mark.parametrize("overrides, error, code", [
    ({"devices": ("cn-0",)}, PermissionDenied, "forbidden"),  # another ward's loudspeaker
    ({"areas": (HANOI,)}, PermissionDenied, "forbidden"),  # the whole city
    ({"areas": ("99999",)}, NotFound, "area_not_found"),
    ({"zones": ("01-00070-khong-co",)}, NotFound, "zone_not_found"),
    ({"devices": ("hk-9",)}, NotFound, "device_not_found"),
    ({"devices": ("hk-off",)}, InvalidInput, "device_disabled"),
    ({"stream_url": None}, InvalidInput, "no_audio"),
    ({"reason": "  "}, InvalidInput, "invalid_reason"),
    ({"expires_in_minutes": 24 * 60 + 1}, InvalidInput, "invalid_expiry"),
])
def test_a_refused_emergency_writes_nothing(db, tools, overrides, error, code):
    with pytest.raises(error) as refused:
        start_emergency(db.uow(), tools, WARD_OPERATOR, request(**overrides))
    assert refused.value.code == code
    assert nothing_written(db)


def test_a_test_alert_goes_only_to_test_devices_on_their_own_topics(db, tools):
    emergency = start_emergency(db.uow(), tools, WARD_OPERATOR, request(test_only=True))
    assert set(documents(db, emergency.cmd_id)) == {("device", "hk-t")}
    assert tracked(db, emergency.cmd_id) == ["hk-t"]
    with pytest.raises(InvalidInput) as refused:
        start_emergency(db.uow(), tools, CITY_OPERATOR, request(areas=(CUA_NAM,), test_only=True))
    assert refused.value.code == "no_test_devices"


def test_library_audio_must_be_ready_and_is_played_after_the_chime_repeated(db, tools, clock):
    asset = AudioAsset(id=7, title="Cảnh báo lũ", kind="upload", language="vi", topic="disaster", area_code=HOAN_KIEM,
                       profile="speech", status=AssetStatus.PROCESSING, original_name="lu.wav", created_by="seed",
                       created_at=SEEDED_AT)
    db.add(asset)
    with pytest.raises(InvalidInput) as refused:
        start_emergency(db.uow(), tools, WARD_OPERATOR, request(stream_url=None, audio_id=7))
    assert refused.value.code == "audio_not_ready" and nothing_written(db)
    db.add(replace(asset, status=AssetStatus.READY, sha256="ef" * 32, bytes=490_000, duration_ms=61_500))
    with pytest.raises(InvalidInput) as refused:  # the row says ready, the rendition is gone
        start_emergency(db.uow(), tools, WARD_OPERATOR, request(stream_url=None, audio_id=7))
    assert refused.value.code == "audio_missing" and nothing_written(db)
    tools.processor.media_dir.mkdir()
    (tools.processor.media_dir / f"{'ef' * 32}.mp3").write_bytes(b"ID3")
    emergency = start_emergency(db.uow(), tools, WARD_OPERATOR, request(stream_url=None, audio_id=7))
    assert tools.processor.calls == ["render_alert:lu.wav:3"]
    (doc,) = documents(db, emergency.cmd_id).values()
    assert doc["media"] == [protocol.build_media("ab" * 32, protocol.media_url("https://loa.example.vn", "ab" * 32),
                                                 96_000, 12_300)]
    assert protocol.parse_time(doc["end"]) == clock.now() + timedelta(seconds=math.ceil(12.3))
    alert = db.tables.audio[emergency.audio_id]  # the alert as broadcast is kept beside the library file
    assert emergency.audio_id != 7 and alert.kind == "upload" and alert.original_name == "lu.wav"
    assert alert.title == "Khẩn cấp: Lũ quét trên sông Hồng" and alert.duration_ms == 12_300


def test_text_is_spoken_rendered_and_kept_in_the_library_with_the_emergency(db, tools):
    emergency = start_emergency(db.uow(), tools, WARD_OPERATOR, request(stream_url=None, text="Sơ tán ngay."))
    assert tools.processor.calls == ["check_text", "synthesize:vi", "render_alert:tts.wav:3"]
    asset = db.tables.audio[emergency.audio_id]
    assert asset.status is AssetStatus.READY and asset.tts_text == "Sơ tán ngay." and asset.sha256 == "ab" * 32
    assert asset.area_code == HOAN_KIEM and asset.title == "Khẩn cấp: Lũ quét trên sông Hồng"
    assert list(tools.work_dir.iterdir()) == []  # the synthesized WAV is scratch


def test_stop_sends_one_stop_to_the_same_topics(db, tools, clock, signer):
    started = start_emergency(db.uow(), tools, WARD_OPERATOR, request(devices=("hk-0",)))
    editor = person("bien-tap", (Role.EDITOR, HOAN_KIEM))
    with pytest.raises(PermissionDenied):
        stop_emergency(db.uow(), clock, signer, editor, started.id)
    clock.advance(minutes=2)
    stopped = stop_emergency(db.uow(), clock, signer, WARD_OPERATOR, started.id)
    assert stopped.status == "stopped" and stopped.stopped_at == clock.now() and stopped.stop_cmd_id
    docs = documents(db, stopped.stop_cmd_id)
    assert set(docs) == {("zone", WARD_ZONE)}  # hk-0 hears its ward's zone already
    (doc,) = docs.values()
    assert doc["action"] == "stop" and doc["ref_cmd_id"] == started.cmd_id
    assert protocol.verify(doc, signer.public_key_b64)
    assert tracked(db, stopped.stop_cmd_id) == HOAN_KIEM_DEVICES
    with pytest.raises(Conflict) as again:
        stop_emergency(db.uow(), clock, signer, WARD_OPERATOR, started.id)
    assert again.value.code == "already_stopped"
    with pytest.raises(NotFound):
        stop_emergency(db.uow(), clock, signer, WARD_OPERATOR, 424242)
    assert [e.action for e in db.tables.audit] == ["emergency.start", "emergency.stop"]


def test_reach_counts_tracked_devices_by_their_furthest_ack(db, tools, clock):
    emergency = start_emergency(db.uow(), tools, WARD_OPERATOR, request())
    heard = {"hk-v0": ["received", "playing"], "hk-1": ["received", "playing", "played"], "hk-0": ["rejected"],
             "cn-0": ["received", "played"]}  # cn-0 was not sent this command: its acks do not count
    now = clock.now()
    DeliveryInbox(db.uow).handle([
        InboundMessage(device_id, "ack", protocol.parse_ack(protocol.encode(protocol.build_ack(
            device_id, protocol.command_ref(emergency.cmd_id), stage, at=now, reason="busy" if stage == "rejected"
            else None, started_at=now if stage in ("playing", "played") else None,
            ended_at=now if stage == "played" else None))), now)
        for device_id, stages in heard.items() for stage in stages])
    view = get_emergency(db.uow(), clock, WARD_OPERATOR.principal, emergency.id)
    assert view.status == "active"
    assert (view.reach.tracked, view.reach.not_reached) == (4, 1)  # hk-t heard nothing
    assert view.reach.stages == {"playing": 1, "played": 1, "rejected": 1}
    assert view.reach.received == 2  # took it: every stage from received on, but not a refusal
    assert view.stop_reach is None
    clock.advance(minutes=31)
    assert get_emergency(db.uow(), clock, WARD_OPERATOR.principal, emergency.id).status == "expired"
