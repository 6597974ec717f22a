"""Chaos during a rollout (issue #15): 2,000 simulated devices in their own process, the API (`loaxa serve
--no-scheduler`) and `loaxa scheduler` as real processes on a private PostgreSQL and a private mosquitto with
persistence. Schedules are approved one after another over HTTP; each becomes a new version for every device, and
their items play during the test. Meanwhile, at seeded random moments: the broker restarts (same port, retained
schedules kept), PostgreSQL restarts, the API and the scheduler are killed with SIGKILL and started again, and a
fifth of the devices are cut off the broker for 60 s (they play from their stored schedules and send their kept
acks afterwards). The scheduler is killed while it holds a whole item's outcome acks, received and not stored (the
test locks them out of the table meanwhile): the broker sends them to its next process only because the gateway
acknowledges a message once it is committed (manual PUBACKs); acknowledged on arrival, this run lost them.

The API runs without its device inbox (LOAXA_API_INBOX=false): an API node's MQTT session is clean, and mosquitto
2.0 discards what a clean session leaves unacknowledged when its process dies (eclipse-mosquitto issue 2662), so a
kill -9 of an API node taking device messages loses its share in flight (docs/deployment.md, "Several API nodes").
With the scheduler the only consumer, its subscriptions are plain, not shared: mosquitto 2.0.11 does not restore
a shared subscription from its persistence file, so what devices send after a broker restart and before the
server has subscribed again would reach nobody (tests/integration/devices/test_gateway_mqtt.py).

Afterwards, from the database and from the simulator's own records: every device on the newest version; every
outcome a device reached acknowledged exactly once in the play log, none lost and none invented; no item played
twice; the versions each device was delivered only grow; no outbox row left pending and no ack left in a device.

Set LOAXA_CHAOS_SEED to replay a run's moments; the seed is printed.
"""
from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from broadcast.bootstrap import SystemClock
from broadcast.persistence.migrate import upgrade
from broadcast.services.area_catalog import official_areas
from broadcast.services.areas import seed_areas
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from tests.support.app import HANOI, HOAN_KIEM, PASSWORD, add_user, make_container
from tests.support.audio_fixtures import generate, require_binary
from tests.support.broker import free_port, start_broker
from tests.support.chaos_fleet import DeviceRecord, FleetProcess
from tests.support.chaos_services import LoaxaProcess, PatientApi, http_ready, server_env
from tests.support.fleet import wait_for
from tests.support.postgres import PrivatePostgres, find_bindir, fresh_database, missing

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.timeout(900),
              pytest.mark.xdist_group("timing")]  # never beside another timing-bound process test

DEVICES = 2000
CUT_FRACTION, CUT_S = 0.2, 60.0
SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"  # tests.support.app.make_container's
# Per schedule: seconds after the first approval when it is written and approved, and seconds from then to the
# start of its 3 s item (the scheduler compiles every 15 s; under load a compilation took 30-40 s here).
ROLLOUT = [(0, 45), (12, 55), (24, 60), (45, 60)]
SETTLE_TIMEOUT_S = 150.0


@pytest.fixture
def postgres_server():
    """A private server of its own: the session's shared one must not be restarted under other tests."""
    bindir = find_bindir()
    if bindir is None:
        missing("initdb/postgres not found (apt-get install postgresql)")
    server = PrivatePostgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.close()


def local_iso(moment, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None).isoformat(timespec="seconds")


def register_fleet(container) -> list[tuple[str, str]]:
    creds = []
    for i in range(DEVICES):
        device_id = f"hk-chaos-{i:04d}"
        registered = register_device(container.uow(), container.clock, Actor(None),
                                     DeviceSpec(id=device_id, name=f"Cụm loa {i}", area_code=HOAN_KIEM))
        creds.append((device_id, registered.mqtt_password))
    return creds


def login(api: PatientApi, username: str) -> dict[str, str]:
    response = api.call("POST", "/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass(frozen=True)
class Moment:
    """Something the chaos does `offset` s after the first approval, or after the start of schedule `item`'s item."""

    offset: float
    what: str
    item: int | None = None

    @property
    def estimate(self) -> float:
        """When it should come, in s after the first approval, if every approval is on time (the plan's order)."""
        return self.offset + (0 if self.item is None else sum(ROLLOUT[self.item]))


def propose(api: PatientApi, headers: dict[str, str], programme_id: int, clock, tz: str,
            lead_s: float) -> tuple[int, float]:
    """A submitted schedule whose item starts `lead_s` from now: its id and that start in time.monotonic()."""
    now = clock.now()
    start = (now + timedelta(seconds=lead_s)).replace(microsecond=0)
    created = api.call("POST", "/api/v1/schedules", headers=headers, json={
        "programme_id": programme_id, "targets": {"areas": [HOAN_KIEM]}, "start": local_iso(start, tz),
        "volume": 70})
    assert created.status_code == 201, created.text
    schedule_id = created.json()["id"]
    submitted = api.call("POST", f"/api/v1/schedules/{schedule_id}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    return schedule_id, time.monotonic() + (start - now).total_seconds()


def outcomes_sent(fleet: FleetProcess, schedule_id: int) -> bool:
    """Every device holding the schedule's item has its outcome and the broker has confirmed every ack it sent."""
    sid = str(schedule_id)
    return all(r.pending_acks == 0 and all(item in r.done for item, (_, s) in r.items.items() if s == sid)
               for r in fleet.records())


def kill_holding_acks(scheduler: LoaxaProcess, engine, fleet: FleetProcess, schedule_id: int) -> None:
    """kill -9 of the scheduler while it holds a whole item's outcome acks, received and not stored: the test's own
    transaction locks device_acks against inserts from before the item ends until the kill, so the inbox's batch
    waits uncommitted and the rest of the burst waits in its queue. Acknowledged to the broker on arrival, they
    died with the process (no device sends an ack again once the broker has it)."""
    with engine.connect() as c:
        c.execute(text("LOCK TABLE device_acks IN SHARE MODE"))
        try:
            wait_for(lambda: outcomes_sent(fleet, schedule_id), 60, poll_s=0.5, what="the item's outcomes sent")
        except AssertionError:  # the checks below will say what became of the item
            print("not every device sent its outcome of the item within 60 s; killing the scheduler anyway")
        with engine.connect() as probe:
            waiting = probe.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                        " AND query ILIKE 'INSERT INTO device_acks%'"))
        print(f"the scheduler's inbox waiting on the lock: {waiting}")
        scheduler.kill()
        c.rollback()


def approve(api: PatientApi, headers: dict[str, str], schedule_id: int) -> None:
    """Approve; if the API died after committing but before answering, the retry finds it approved."""
    response = api.call("POST", f"/api/v1/schedules/{schedule_id}/approve", headers=headers)
    if response.status_code != 200:
        state = api.call("GET", f"/api/v1/schedules/{schedule_id}", headers=headers).json()
        assert state["status"] == "approved", (response.status_code, response.text, state)


def database_view(engine) -> dict:
    """The server's side, read after the dust settled."""
    with engine.connect() as c:
        latest = dict(c.execute(text(
            "SELECT device_id, max(version) FROM schedule_publications GROUP BY device_id")).all())
        unconfirmed = c.scalar(text(
            "SELECT count(*) FROM schedule_publications p WHERE p.received_at IS NULL AND p.version = "
            "(SELECT max(version) FROM schedule_publications q WHERE q.device_id = p.device_id)"))
        pending_versions = c.scalar(text(
            "SELECT count(*) FROM schedule_publications WHERE received_at IS NULL AND next_attempt_at IS NOT NULL"
            " AND published_at IS NULL"))
        pending_commands = c.scalar(text("SELECT count(*) FROM command_publications WHERE published_at IS NULL"))
        play_log = c.execute(text("SELECT device_id, item_id, outcome, started_at FROM play_log")).all()
        items = dict(c.execute(text("SELECT item_id, min(schedule_id) FROM play_log GROUP BY item_id")).all())
        final_acks = set(c.execute(text(
            "SELECT device_id, item_id, stage FROM device_acks WHERE ref_kind = 'schedule'"
            " AND stage IN ('played', 'missed', 'failed', 'preempted')")).all())
        played_acks = c.execute(text(
            "SELECT device_id, item_id, count(*) FROM device_acks WHERE ref_kind = 'schedule' AND stage = 'played'"
            " GROUP BY device_id, item_id")).all()
    return {"latest": latest, "unconfirmed": unconfirmed, "pending_versions": pending_versions,
            "pending_commands": pending_commands, "play_log": play_log, "played_acks": played_acks,
            "final_acks": final_acks, "items": items}


def settled(records: list[DeviceRecord], db: dict, now: float) -> bool:
    return (db["unconfirmed"] == 0 and db["pending_versions"] == 0 and db["pending_commands"] == 0
            and all(r.connected and r.pending_acks == 0 and r.version == db["latest"].get(r.device_id)
                    and all(en < now - 1 and item in r.done for item, (en, _) in r.items.items())
                    for r in records)
            and len(db["play_log"]) == sum(len(r.done) for r in records))


def unsettled(records: list[DeviceRecord], db: dict, now: float) -> dict:
    """What keeps `settled` false, in figures."""
    return {"unconfirmed newest versions": db["unconfirmed"], "pending versions": db["pending_versions"],
            "pending commands": db["pending_commands"],
            "devices offline": sum(not r.connected for r in records),
            "acks kept in devices": sum(r.pending_acks for r in records),
            "devices behind the database": sum(r.version != db["latest"].get(r.device_id) for r in records),
            "outcomes on devices": sum(len(r.done) for r in records), "play-log rows": len(db["play_log"])}


def test_rollout_survives_restarts_kills_and_cut_off_devices(tmp_path, postgres_server):
    require_binary("ffmpeg")
    seed = int(os.environ.get("LOAXA_CHAOS_SEED") or random.SystemRandom().randrange(1 << 31))
    print(f"\nchaos seed {seed} (LOAXA_CHAOS_SEED={seed} replays these moments)")
    rng = random.Random(seed)
    began = time.monotonic()

    with fresh_database(postgres_server.admin_url()) as url:
        container = make_container(tmp_path, url)
        try:
            upgrade(container.engine)
            seed_areas(container.uow(), SystemClock(), official_areas(HANOI), Actor(None))
            creds = register_fleet(container)
            for name, role, area in (("can-bo", "editor", HOAN_KIEM), ("chu-tich", "approver", HOAN_KIEM),
                                     ("quan-tri", "admin", HANOI)):
                add_user(container, name, role, area)
            public_key = container.signer.public_key_b64  # the key file every server process reads
            tz = container.settings.timezone
            run(tmp_path, container, url, creds, public_key, tz, rng, postgres_server, began)
        finally:
            container.close()


def run(tmp_path, container, url, creds, public_key, tz, rng, postgres_server, began) -> None:
    broker = start_broker(tmp_path / "broker", devices=creds, persistence=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(data_dir=tmp_path / "data", database_url=url, mqtt_url=broker.server_url, prefix=broker.prefix,
                     secret_key=SECRET_KEY, public_url=base, lease_ttl_s="5", lease_renew_s="1",
                     delivery_timeout_s="10", password_hash_memory_kib="8192", api_inbox="false",
                     mqtt_shared_group="")
    api_proc = LoaxaProcess("api", ["serve", "--no-scheduler", "--port", str(port)], env, tmp_path, http_ready(base))
    scheduler = LoaxaProcess("scheduler", ["scheduler"], env, tmp_path)
    api = PatientApi(base)
    fleet: FleetProcess | None = None
    try:
        api_proc.start()
        scheduler.start()
        editor, approver, admin = login(api, "can-bo"), login(api, "chu-tich"), login(api, "quan-tri")
        assert api.call("PUT", f"/api/v1/policies/{HOAN_KIEM}", headers=admin,
                        json={"windows": ["00:00-24:00"]}).status_code == 200
        wav = generate(tmp_path / "ban-tin.wav", kind="speechlike", seconds=3, rate=22050)
        with wav.open("rb") as fh:
            asset = api.call("POST", "/api/v1/audio", headers=editor, files={"file": ("ban-tin.wav", fh)},
                             data={"title": "Bản tin thời sự xã", "area_code": HOAN_KIEM,
                                   "topic": "grassroots_mediation"}).json()
        wait_for(lambda: api.call("GET", f"/api/v1/audio/{asset['id']}", headers=editor).json()["status"] == "ready",
                 90, poll_s=0.5, what="the audio rendered")
        # The upload raced the scheduler's start, whose audio sweep leaves alone what the API node has claimed.
        wait_for(lambda: "leading as" in scheduler.log_tail(10**6), 180, poll_s=0.2, what="the scheduler leading")
        programme = api.call("POST", "/api/v1/programmes", headers=editor, json={
            "title": "Bản tin thời sự xã", "area_code": HOAN_KIEM, "topic": "grassroots_mediation",
            "audio_ids": [asset["id"]]}).json()

        fleet = FleetProcess(broker.url, creds, public_key, prefix=broker.prefix, media_dir=tmp_path / "device-cache")
        fleet.__enter__()
        print(f"setup {time.monotonic() - began:.0f} s (fleet connected in {fleet.connect_s:.0f} s)")

        # The rollout: schedule i is written, submitted and approved ROLLOUT[i][0] s after the first approval (or
        # once the API is back from a kill: a restart took up to a minute under load), its 3 s item starting
        # ROLLOUT[i][1] s after that. The faults are seeded moments relative to those items' actual starts, around
        # the busiest seconds (every device's `playing` ack at an item's start, `played` 3 s later); the scheduler
        # is killed while the acks of an item's end are being stored; the API anywhere. The 60 s cut-off starts
        # once every device holds the first schedule's item.
        plan = [Moment(at, f"approve {i}") for i, (at, _) in enumerate(ROLLOUT)]
        plan += [Moment(rng.uniform(-2, 5), "restart broker", item=0),
                 Moment(rng.uniform(1, 5), "restart postgres", item=1),
                 Moment(rng.uniform(5, 90), "kill api"),
                 Moment(2.0, "kill scheduler", item=2)]  # with the item's outcomes unstored, see kill_holding_acks
        down_for = {"api": rng.uniform(0.5, 4), "scheduler": rng.uniform(0.5, 4)}
        plan.sort(key=lambda m: m.estimate)
        print("plan: " + ", ".join(f"{m.what} at {m.estimate:.1f} s" for m in plan)
              + "; down for " + ", ".join(f"{name} {s:.1f} s" for name, s in down_for.items()))
        schedules: list[int] = []
        starts: dict[int, float] = {}  # schedule index -> monotonic time its item starts
        restarts: list[threading.Thread] = []
        cut: list[str] = []
        cut_at: float | None = None
        t0 = time.monotonic()
        for moment in plan:
            due = t0 + moment.offset if moment.item is None else starts[moment.item] + moment.offset
            while time.monotonic() < due:
                if cut_at is None and schedules and fleet.holding(schedules[0]) == DEVICES:
                    cut_at = time.monotonic() - t0
                    cut = fleet.fault("cut_off", CUT_FRACTION, rng.randrange(1 << 30), CUT_S)
                    print(f"cut off {len(cut)} devices for {CUT_S:.0f} s at {cut_at:.1f} s")
                time.sleep(0.1)
            print(f"{time.monotonic() - t0:6.1f} s ({time.strftime('%H:%M:%S')}): {moment.what}")
            action, _, target = moment.what.partition(" ")
            if moment.what == "kill scheduler":
                kill_holding_acks(scheduler, container.engine, fleet, schedules[2])
                restarts.append(scheduler.restart_later(down_for["scheduler"]))
            elif action == "approve":
                i = int(target)
                schedule_id, starts[i] = propose(api, editor, programme["id"], container.clock, tz, ROLLOUT[i][1])
                approve(api, approver, schedule_id)
                schedules.append(schedule_id)
            elif moment.what == "restart broker":
                broker.restart()
            elif moment.what == "restart postgres":
                postgres_server.restart()
            else:
                proc = api_proc if target == "api" else scheduler
                proc.kill()
                restarts.append(proc.restart_later(down_for[target]))
        for restart in restarts:
            restart.join()
        assert api_proc.failures == scheduler.failures == []
        assert api_proc.running and scheduler.running
        wait_for(lambda: fleet.holding(schedules[0]) == DEVICES or cut_at is not None, 60, poll_s=0.5,
                 what="the first schedule everywhere")
        assert cut_at is not None, "the first schedule never reached every device before the faults ended"

        def view():
            return fleet.records(), database_view(container.engine), fleet.ask("now")

        try:
            wait_for(lambda: settled(*view()), SETTLE_TIMEOUT_S, poll_s=2.0, what="the fleet and the database settled")
        except AssertionError:  # the checks below say what is missing
            print(f"NOT settled within {SETTLE_TIMEOUT_S:.0f} s: {unsettled(*view())}")
        records, db, _ = view()
        print(f"fleet: {fleet.stats()}")
        print(f"settled {time.monotonic() - t0:.0f} s after the first approval, {time.monotonic() - began:.0f} s "
              f"in all; API calls retried {api.retries} times; scheduler started {scheduler.starts} times")
        check(records, db, set(cut), {str(s) for s in schedules})
    except BaseException:
        for proc in (api_proc, scheduler):
            print(f"----- {proc.name} log: errors and warnings -----")
            print("\n".join(line[:400] for line in proc.log_tail(10**8).splitlines()
                            if any(w in line for w in ("ERROR", "WARNING", "Error", "===== start"))))
            print(f"----- {proc.name} log: the end -----\n{proc.log_tail(3000)}")
        print(f"----- broker log -----\n{broker.log_tail()}")
        raise
    finally:
        if fleet is not None:
            fleet.close()
        api.close()
        scheduler.stop()
        api_proc.stop()
        broker.kill()


def check(records: list[DeviceRecord], db: dict, cut: set[str], schedules: set[str]) -> None:
    assert len(records) == DEVICES
    logged = {(device_id, item_id): outcome for device_id, item_id, outcome, _ in db["play_log"]}
    reached = {(r.device_id, item): stage for r in records for item, stage in r.done.items()}
    lost = {k: v for k, v in reached.items() if logged.get(k) != v}
    invented = {k: v for k, v in logged.items() if k not in reached}
    if lost:  # where: never stored as an ack (lost in transit), or stored without its play-log row
        acked = {(device_id, item) for device_id, item, _ in db["final_acks"]}
        print(f"outcomes missing from the play log, by schedule: "
              f"{dict(Counter(db['items'].get(item) for _, item in lost))}, by outcome and cut off: "
              f"{dict(Counter((stage, device in cut) for (device, _), stage in lost.items()))}; stored as acks: "
              f"{sum(k in acked for k in lost)}; play-log rows by schedule: "
              f"{dict(Counter(db['items'].get(item) for _, item, _, _ in db['play_log']))}")
    # Every device on the newest version (which carries what is still ahead: the last schedule at least), with an
    # outcome for the one occurrence of every schedule of the rollout.
    newest = {r.device_id: r.version for r in records}
    assert newest == db["latest"]
    last = max(schedules, key=int)
    assert [r.device_id for r in records if last not in {sid for _, sid in r.items.values()}] == []
    assert [r.device_id for r in records if len(r.done) != len(schedules)] == []
    # Versions only grow: what each device was delivered never went back (a repeat is the retained copy again).
    went_back = {r.device_id: r.seen_versions for r in records
                 if any(b < a for a, b in zip(r.seen_versions, r.seen_versions[1:], strict=False))}
    assert went_back == {}
    # No item played twice, on the device or in the acks the server stored.
    assert [r.device_id for r in records if len(r.played) != len(set(r.played))] == []
    assert [row for row in db["played_acks"] if row[2] != 1] == []
    # Every outcome a device reached is in the play log exactly once, and the play log holds nothing else.
    in_log = Counter((device_id, item_id) for device_id, item_id, _, _ in db["play_log"])
    assert [k for k, n in in_log.items() if n != 1] == []
    assert (len(lost), len(invented)) == (0, 0), (list(lost.items())[:10], list(invented.items())[:10])
    # The cut-off devices kept playing from their stored schedules, and their kept acks arrived.
    outcomes = Counter(stage for stage in reached.values())
    by_cut: dict[bool, Counter[str]] = defaultdict(Counter)
    for (device_id, _), stage in reached.items():
        by_cut[device_id in cut][stage] += 1
    print(f"outcomes: {dict(outcomes)}; cut-off devices: {dict(by_cut[True])}; others: {dict(by_cut[False])}")
    assert by_cut[True]["played"] >= len(cut)  # at least the first schedule's item, played while cut off
    assert outcomes["played"] >= DEVICES * len(schedules) // 2
