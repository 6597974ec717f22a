"""Live sessions (services.live, services.live_relay) through in-memory repositories: who may go live when, the
play_now naming the mount, the stop, and every way a link ends. The encoder is a recording stand-in here; the
integration tests run the real ffmpeg and Icecast."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broadcast.domain.auth import Role
from broadcast.domain.errors import Conflict, InvalidInput, PermissionDenied
from broadcast.domain.live import LiveSession, LiveStatus
from broadcast.domain.policy import PolicyOverride, windows
from broadcast.services import live as service
from broadcast.services import live_relay
from broadcast.services.context import Actor
from tests.unit.services.fakes import FakeDatabase, FakeUnitOfWork, _Repository
from tests.unit.services.world import CUA_NAM, HANOI, HOAN_KIEM, device, person

EDITOR = person("bien-tap-hk", (Role.EDITOR, HOAN_KIEM))
OPERATOR = person("khan-cap-hk", (Role.EMERGENCY_OPERATOR, HOAN_KIEM))
MORNING = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 08:30 local
NIGHT = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 23:00 local: quiet hours by default


class FakeLive(_Repository):
    @property
    def _rows(self) -> dict[int, LiveSession]:
        return self._t.__dict__.setdefault("live_sessions", {})

    def add(self, live: LiveSession) -> LiveSession:
        stored = replace(live, id=self._t.next_id("live"))
        self._rows[stored.id] = stored
        return stored

    def get(self, session_id: int, *, for_update: bool = False) -> LiveSession | None:
        return self._rows.get(session_id)

    def list(self, *, within_areas, limit: int = 50, offset: int = 0):
        return sorted(self._rows.values(), key=lambda s: -s.id)[offset:offset + limit]

    def open_sessions(self):
        return [s for s in self._rows.values() if s.status.open]

    def created_between(self, since, until):
        return [s for s in self._rows.values() if since <= s.created_at < until]

    def update(self, session_id: int, **fields: Any) -> None:
        self._rows[session_id] = replace(self._rows[session_id], **fields)


class NoUsers(_Repository):
    """Accounts are not stored here: a session's label then names the officer by username."""

    def get(self, user_id: int) -> None:
        return None


class LiveUow(FakeUnitOfWork):
    def __init__(self, db: FakeDatabase):
        super().__init__(db)
        self.live = FakeLive(self)
        self.users = NoUsers(self)


@pytest.fixture
def db(db: FakeDatabase) -> FakeDatabase:
    db.add(device("hk-0", HOAN_KIEM), device("hk-1", HOAN_KIEM), device("cn-0", CUA_NAM))
    return db


@pytest.fixture
def tools(clock, signer) -> service.LiveTools:
    clock.current = MORNING
    return service.LiveTools(clock=clock, signer=signer, stream_public_url="http://radio.example.vn:8001/",
                             max_length=timedelta(hours=2))


def start(db, tools, actor=EDITOR, **overrides) -> LiveSession:
    request = replace(service.LiveRequest(areas=(HOAN_KIEM,)), **overrides)
    return service.start_live(LiveUow(db), tools, actor, request)


def play_now(db, cmd_id: str) -> dict:
    return next(p.document for p in db.tables.command_publications.values() if p.cmd_id == cmd_id)


def test_an_editor_goes_live_in_the_window_and_devices_are_told_where_to_listen(db, tools):
    live = start(db, tools)
    assert live.status is LiveStatus.WAITING and live.created_by == EDITOR.name
    assert live.stream_url == f"http://radio.example.vn:8001/{live.mount}" and live.mount.startswith("live-1-")
    doc = play_now(db, live.cmd_id)
    assert doc["action"] == "play_now" and doc["stream_url"] == live.stream_url and doc["priority"] == "normal"
    assert doc["target"] == {"zone": f"{HANOI}-{HOAN_KIEM}"}
    assert live.ends_at == datetime(2026, 12, 1, 3, 30, tzinfo=UTC)  # 08:30 + the 2 h maximum (window to 21:00)
    assert [e.action for e in db.tables.audit] == ["live.start"]
    area = db.tables.areas[HOAN_KIEM].name
    assert live.targets["label"] == f"{EDITOR.name} → {area}"  # the play log's title: who, to where


def test_the_window_end_bounds_an_editors_session(db, tools):
    db.tables.policies[HOAN_KIEM] = PolicyOverride(windows={d: windows("08:00-09:00") for d in range(7)})
    assert start(db, tools).ends_at == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_at_night_an_editor_is_refused_and_nothing_is_written_but_an_operator_goes_live(db, tools, clock):
    clock.current = NIGHT
    with pytest.raises(InvalidInput) as refused:
        start(db, tools)
    assert refused.value.code == "policy.outside_window"
    assert not (db.tables.commands or db.tables.audit or db.commits)
    live = start(db, tools, OPERATOR, priority="emergency")
    assert play_now(db, live.cmd_id)["priority"] == "emergency"


def test_classes_follow_rights(db, tools):
    with pytest.raises(PermissionDenied):
        start(db, tools, EDITOR, priority="emergency")
    with pytest.raises(PermissionDenied):
        start(db, tools, OPERATOR, priority="normal")
    with pytest.raises(PermissionDenied):
        start(db, tools, EDITOR, areas=(CUA_NAM,))
    with pytest.raises(InvalidInput):
        start(db, tools, EDITOR, areas=())
    with pytest.raises(InvalidInput):
        start(db, tools, EDITOR, priority="loud")


def test_stopping_stages_a_stop_for_the_play_now_once(db, tools):
    live = start(db, tools)
    ended = service.end_live(LiveUow(db), tools, EDITOR, live.id)
    assert ended.status is LiveStatus.ENDED and ended.end_reason == "stopped"
    stop = play_now(db, ended.stop_cmd_id)
    assert stop["action"] == "stop" and stop["ref_cmd_id"] == live.cmd_id
    with pytest.raises(Conflict):
        service.end_live(LiveUow(db), tools, EDITOR, live.id)  # an officer is told
    assert service.end_live(LiveUow(db), tools, Actor(None), live.id, status=LiveStatus.DROPPED,
                            reason="idle") is None  # a racing drop is not an error
    assert [e.action for e in db.tables.audit] == ["live.start", "live.stop"]


class StandInEncoder:
    def __init__(self) -> None:
        self.fed: list[bytes] = []
        self.alive = False
        self.finished = False

    def start(self) -> None:
        self.alive = True

    def feed(self, data: bytes) -> None:
        self.fed.append(data)

    def finish(self, timeout: float = 10.0) -> int | None:
        self.alive, self.finished = False, True
        return 0

    def kill(self) -> None:
        self.alive = False

    def error_tail(self) -> str:
        return ""


def relay_for(db, tools, tmp_path, encoders: list, kept: list) -> live_relay.LiveRelay:
    def factory(session, recording):
        encoders.append(StandInEncoder())
        return encoders[-1]

    return live_relay.LiveRelay(lambda: LiveUow(db), tools, factory, tmp_path, idle_timeout_s=0.2,
                                connect_timeout_s=0.1, on_recording=lambda sid, path: kept.append((sid, path)))


@pytest.mark.parametrize("ending", [live_relay.SOCKET_CLOSED, live_relay.IDLE, live_relay.ENCODER_FAILED,
                                    live_relay.STOPPED])
def test_every_ending_closes_the_encoder_stops_the_devices_and_keeps_the_recording(db, tools, tmp_path, ending):
    encoders, kept = [], []
    relay = relay_for(db, tools, tmp_path, encoders, kept)
    live = start(db, tools)
    link = relay.connect(live.id, EDITOR)
    link.feed(b"webm-chunk")
    with LiveUow(db) as uow:
        assert uow.live.get(live.id).status is LiveStatus.LIVE
    ended = link.close(ending)
    assert encoders[0].finished and relay.active() == []
    assert (ended.status, ended.end_reason, ended.bytes_received) == (ending.status, ending.reason, 10)
    assert play_now(db, ended.stop_cmd_id)["ref_cmd_id"] == live.cmd_id
    assert kept == [(live.id, tmp_path / f"live-{live.id}.flac")]
    assert link.close(ending) is None  # once


def test_the_link_is_only_for_who_may_send_it_while_open_and_once(db, tools, tmp_path):
    relay = relay_for(db, tools, tmp_path, [], [])
    live = start(db, tools)
    with pytest.raises(PermissionDenied):
        relay.connect(live.id, person("xem", (Role.VIEWER, HOAN_KIEM)))
    link = relay.connect(live.id, EDITOR)
    with pytest.raises(Conflict):
        relay.connect(live.id, EDITOR)
    link.close(live_relay.STOPPED)
    with pytest.raises(Conflict):
        relay.connect(live.id, EDITOR)


def test_a_session_whose_audio_never_comes_is_dropped(db, tools, tmp_path):
    relay = relay_for(db, tools, tmp_path, [], [])
    live = start(db, tools)
    relay.watch_connection(live.id).join(5)
    with LiveUow(db) as uow:
        dropped = uow.live.get(live.id)
    assert (dropped.status, dropped.end_reason) == (LiveStatus.DROPPED, "never_connected")
    assert dropped.stop_cmd_id is not None


def test_a_link_that_comes_cancels_the_watchdog(db, tools, tmp_path):
    relay = relay_for(db, tools, tmp_path, [], [])
    relay.connect_timeout_s = 0.3
    live = start(db, tools)
    watchdog = relay.watch_connection(live.id)
    link = relay.connect(live.id, EDITOR)  # connected but no audio yet: still waiting, yet not "never connected"
    watchdog.join(1)
    with LiveUow(db) as uow:
        assert uow.live.get(live.id).status is LiveStatus.WAITING
    link.close(live_relay.STOPPED)


def test_shutdown_ends_every_session_of_the_process_and_tells_devices_to_stop(db, tools, tmp_path):
    encoders, kept = [], []
    relay = relay_for(db, tools, tmp_path, encoders, kept)
    relay.connect_timeout_s = 60.0  # only the shutdown may end the waiting session here
    connected, waiting = start(db, tools), start(db, tools)
    relay.connect(connected.id, EDITOR).feed(b"webm-chunk")
    watchdog = relay.watch_connection(waiting.id)
    relay.close_all()
    watchdog.join(1)
    assert not watchdog.is_alive() and relay.active() == [] and encoders[0].finished
    with LiveUow(db) as uow:
        ended = {s: uow.live.get(s) for s in (connected.id, waiting.id)}
    assert (ended[connected.id].status, ended[connected.id].end_reason) == (LiveStatus.DROPPED, "socket_closed")
    assert (ended[waiting.id].status, ended[waiting.id].end_reason) == (LiveStatus.DROPPED, "never_connected")
    for session in (connected, waiting):
        assert play_now(db, ended[session.id].stop_cmd_id)["ref_cmd_id"] == session.cmd_id
    assert kept == [(connected.id, tmp_path / f"live-{connected.id}.flac")]


def _capped(db, minutes: int) -> None:
    db.tables.policies[HOAN_KIEM] = PolicyOverride(max_minutes_per_day=minutes)


def _earlier(db, tools, minutes: float, *, area=HOAN_KIEM, priority="normal") -> None:
    """A session of this morning, over, that sounded for `minutes`."""
    with LiveUow(db) as uow:
        started = MORNING - timedelta(hours=1)
        uow.live.add(LiveSession(
            id=0, status=LiveStatus.ENDED, priority=priority, area_code=area, targets={"chains": [[area, HANOI]]},
            mount="m", stream_url="u", created_by="x", created_at=started, ends_at=started + timedelta(hours=2),
            started_at=started, ended_at=started + timedelta(minutes=minutes)))
        uow.commit()


def test_an_editors_session_ends_when_the_days_cap_is_used_up(db, tools):
    _capped(db, 30)
    _earlier(db, tools, 25)
    _earlier(db, tools, 25, area=CUA_NAM)  # another commune's talk takes nothing of this one's cap
    _earlier(db, tools, 25, priority="emergency")  # nor does an emergency
    assert start(db, tools).ends_at == MORNING + timedelta(minutes=5)


def test_an_editor_is_refused_when_the_cap_is_used_up_but_an_operator_is_not(db, tools):
    _capped(db, 30)
    _earlier(db, tools, 29.5)
    with pytest.raises(InvalidInput) as refused:
        start(db, tools)
    assert refused.value.code == "policy.daily_cap_exceeded" and "giới hạn 30 phút/ngày" in refused.value.message
    assert not (db.tables.commands or db.tables.audit)
    assert start(db, tools, OPERATOR, priority="emergency").ends_at == MORNING + timedelta(hours=2)


def test_the_days_scheduled_programmes_share_the_cap_with_live_talk(db, tools, clock):
    from broadcast.domain.priority import Priority
    from broadcast.domain.scheduling import Programme, TargetSet
    from broadcast.services.schedules import ScheduleDraft, approve_schedule, create_schedule, submit_schedule

    db.add(Programme(id=1, title="Tiếp sóng thời sự", topic="grassroots_mediation", language="vi", source="commune",
                     priority=Priority.NORMAL, area_code=HOAN_KIEM, created_by="seed", created_at=MORNING,
                     stream_url="http://radio.example.vn/vov1", stream_duration_ms=15 * 60_000))
    author, approver = person("tac-gia", (Role.EDITOR, HOAN_KIEM)), person("duyet", (Role.APPROVER, HOAN_KIEM))
    schedule = create_schedule(db.uow(), clock, author, ScheduleDraft(
        programme_id=1, targets=TargetSet(areas=(HOAN_KIEM,)), start_local="2026-12-01T17:00:00"), tools.tz)
    submit_schedule(db.uow(), clock, author, schedule.id, tools.tz)
    approve_schedule(db.uow(), clock, approver, schedule.id, tools.tz)
    _capped(db, 20)  # 15 minutes of relay at 17:00 today leave 5 for talking now
    assert start(db, tools).ends_at == MORNING + timedelta(minutes=5)
