"""`loaxa demo`: the whole system on one machine, for a first look.

In its own data dir it: migrates the database, seeds the official areas, creates one account per role (passwords
printed),
registers simulated loudspeaker controllers in real communes of Ninh Bình, writes the broker's password file
and ACL, starts a private mosquitto, starts the simulator as a separate process (a foreign device speaking
protocol v1), and serves the API with the gateway and timer embedded. Ctrl+C stops everything.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

DEMO_PROVINCE = "37"  # Ninh Bình
DEMO_COMMUNES = 3
DEVICES_PER_COMMUNE = 4
SERVER_USER = "loaxa-server"
console = Console(soft_wrap=True)  # a line the terminal wraps stays one line when copied


def demo_password() -> str:
    return f"LoaXa-{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kept_secret(path: Path) -> str:
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} đã dừng (mã {proc.returncode}); xem nhật ký trong thư mục dữ liệu.")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} không sẵn sàng sau {timeout} giây.")


SAMPLE_PROGRAMMES = [
    ("Luật Hòa giải ở cơ sở - Bài 1", "grassroots_mediation", "vi",
     "Kính thưa bà con nhân dân. Luật Hòa giải ở cơ sở quy định hòa giải viên phải tôn trọng sự tự nguyện "
     "của các bên, khách quan, công bằng, kịp thời. Mọi mâu thuẫn nhỏ trong thôn xóm nên được hòa giải sớm.",
     ("Luật Hòa giải ở cơ sở", "35/2013/QH13", "Điều 4")),
    ("An toàn giao thông - Đội mũ bảo hiểm", "road_traffic", "vi-vn-x-south",
     "Người điều khiển, người ngồi trên xe mô tô, xe gắn máy phải đội mũ bảo hiểm và cài quai đúng quy cách. "
     "Không sử dụng rượu bia khi tham gia giao thông.",
     ("Luật Trật tự, an toàn giao thông đường bộ", "36/2024/QH15", "Điều 33")),
    ("Phòng cháy, chữa cháy trong mùa hanh khô", "fire_prevention", "vi-vn-x-central",
     "Mùa hanh khô, bà con cần tắt bếp, ngắt điện khi ra khỏi nhà, không đốt rác, đốt nương gần khu dân cư.",
     ("Luật Phòng cháy, chữa cháy và cứu nạn, cứu hộ", "55/2024/QH15", "")),
]


# One account per role, all for the demo province: username and the role's Vietnamese name.
DEMO_PEOPLE = {
    "admin": ("admin", "Quản trị viên"),
    "editor": ("can-bo-vh", "Cán bộ biên tập"),
    "approver": ("lanh-dao-so", "Lãnh đạo duyệt"),
    "emergency_operator": ("truc-khan-cap", "Trực phát khẩn cấp"),
    "viewer": ("tu-phap-tinh", "Cán bộ tư pháp (xem)"),
}


def demo_accounts(container) -> dict[str, str]:
    """Each role's account, with a fresh password on every run (printed, never stored): username -> password."""
    from broadcast.services.context import Actor
    from broadcast.services.users import create_user, set_password

    passwords = {}
    for role, (username, _label) in DEMO_PEOPLE.items():
        password = demo_password()
        with container.uow() as uow:
            existing = uow.users.get_by_username(username)
        if existing:
            set_password(container.uow(), container.clock, container.hasher, Actor(None), username=username,
                         password=password)
        else:
            create_user(container.uow(), container.clock, container.hasher, Actor(None), username=username,
                        password=password, role=role, area_code=DEMO_PROVINCE)
        passwords[username] = password
    return passwords


def open_demo_hours(container, communes) -> None:
    """The demo communes may broadcast at any hour, so the demo works whenever it runs; the rest of the province
    keeps the default quiet hours."""
    from broadcast.services.context import Actor
    from broadcast.services.policies import set_policy

    for commune in communes:
        set_policy(container.uow(), container.clock, Actor(None), commune.code, windows=["00:00-24:00"],
                   max_minutes_per_day=None, weekdays=None)


def welcome_lines(base: str, passwords: dict[str, str], data_dir: Path) -> list[str]:
    """What the demo prints once everything runs: short lines, so a narrow terminal never breaks one."""
    lines = [f"Mở trang web: {base}/", "Đăng nhập bằng một tài khoản (tên / mật khẩu):"]
    for _role, (username, label) in DEMO_PEOPLE.items():
        lines.append(f"  {label}: {username} / {passwords[username]}")
    lines += [f"Tài liệu API: {base}/docs",
              f"Nhật ký thiết bị mô phỏng: {data_dir / 'sim.log'}",
              "Lệnh loaxa khác, chạy song song bản thử, cần:",
              f"  LOAXA_DATA_DIR={data_dir}",
              f"  ví dụ: LOAXA_DATA_DIR={data_dir} .venv/bin/loaxa users disable TÊN"]
    return lines


def plan_sample_programmes(container, communes) -> None:
    """Sample legal-education programmes (TTS) on schedules a few minutes ahead, by an officer, approved by a leader."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from broadcast.domain.audio import AudioMeta
    from broadcast.domain.auth import Principal
    from broadcast.domain.errors import DomainError
    from broadcast.domain.scheduling import LegalRef, TargetSet
    from broadcast.services.audio import request_tts
    from broadcast.services.context import Actor
    from broadcast.services.programmes import ProgrammeDraft, create_programme
    from broadcast.services.schedules import ScheduleDraft, approve_schedule, create_schedule, submit_schedule

    people = {}  # province culture staff draft, a province leader approves: the schedules span three communes
    for role in ("editor", "approver"):
        with container.uow() as uow:
            found = uow.users.get_by_username(DEMO_PEOPLE[role][0])
        people[role] = Actor(Principal(found.id, found.username, found.grants))
    open_demo_hours(container, communes)
    tz = container.settings.timezone
    targets = TargetSet(areas=tuple(c.code for c in communes))
    assets = []
    for title, topic, voice, text, _ref in SAMPLE_PROGRAMMES:
        assets.append(request_tts(container.uow(), container.clock, people["editor"], container.audio,
                                  container.jobs, container.uow, text=text, voice=voice,
                                  meta=AudioMeta(title, "vi", topic, "speech", DEMO_PROVINCE),
                                  spool_dir=container.spool_dir))
    container.jobs.drain(timeout=300)
    first = container.clock.now() + timedelta(minutes=2)
    for n, ((title, topic, _voice, _text, ref), asset) in enumerate(zip(SAMPLE_PROGRAMMES, assets, strict=True)):
        programme = create_programme(container.uow(), container.clock, people["editor"], ProgrammeDraft(
            title=title, area_code=DEMO_PROVINCE, topic=topic, source="province", asset_ids=(asset.id,),
            legal_refs=(LegalRef(*ref),)))
        start = (first + timedelta(minutes=2 * n)).astimezone(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)
        try:
            schedule = create_schedule(container.uow(), container.clock, people["editor"], ScheduleDraft(
                programme_id=programme.id, targets=targets, start_local=start.isoformat(), volume=80), tz)
            submit_schedule(container.uow(), container.clock, people["editor"], schedule.id, tz)
            approve_schedule(container.uow(), container.clock, people["approver"], schedule.id, tz)
        except DomainError as exc:
            console.print(f"[yellow]![/yellow] {title}: {exc.message}")
            continue
        console.print(f"[green]✓[/green] Đã duyệt “{title}”: phát lúc {start:%H:%M:%S} tại {len(communes)} xã.")


def run_demo(*, port: int, data_dir: Path) -> None:
    import uvicorn

    from broadcast.bootstrap import build_container
    from broadcast.persistence.migrate import upgrade
    from broadcast.protocol.broker_config import write_broker_config
    from broadcast.runtime import Runtime
    from broadcast.services.area_catalog import official_areas
    from broadcast.services.areas import seed_areas
    from broadcast.services.context import Actor
    from broadcast.services.devices import DeviceSpec, broker_accounts, register_device, rotate_secret
    from broadcast.settings import load_settings
    from broadcast.web.app import create_app

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    broker_port, server_port = free_port(), free_port()  # devices' listener, the server account's listener
    server_password = kept_secret(data_dir / "mqtt_server_password")
    broker_dir = data_dir / "mosquitto"
    # Registering, disabling or rotating a device from the API reaches the broker at once (SIGHUP).
    icecast_port = free_port()  # live broadcasts (docs/live.md): the page's audio goes out through it
    settings = load_settings(data_dir=data_dir, public_url=f"http://127.0.0.1:{port}",
                             mqtt_url=f"mqtt://{SERVER_USER}:{server_password}@127.0.0.1:{server_port}",
                             mqtt_config_dir=broker_dir, mqtt_pid_file=broker_dir / "mosquitto.pid",
                             icecast_port=icecast_port)
    container = build_container(settings)
    upgrade(container.engine)
    seeded = seed_areas(container.uow(), container.clock, official_areas(), Actor(None))
    console.print(f"[green]✓[/green] Danh mục: {seeded['provinces']} tỉnh, thành phố; {seeded['communes']} xã, phường.")

    passwords = demo_accounts(container)

    # Simulated controllers in real communes; secrets are shown once, so a rerun issues new ones.
    with container.uow() as uow:
        communes = uow.areas.list(parent_code=DEMO_PROVINCE, limit=DEMO_COMMUNES)
    credentials = []
    for commune in communes:
        for n in range(1, DEVICES_PER_COMMUNE + 1):
            device_id = f"nb-{commune.code}-{n:02d}"
            with container.uow() as uow:
                known = uow.devices.get(device_id) is not None
            if known:
                secret = rotate_secret(container.uow(), container.clock, Actor(None), device_id)
            else:
                secret = register_device(container.uow(), container.clock, Actor(None), DeviceSpec(
                    id=device_id, name=f"Cụm loa số {n} - {commune.name}", area_code=commune.code,
                    vendor="LoaXa mô phỏng", connection="cellular")).mqtt_password
            credentials.append((device_id, secret))
    creds_file = data_dir / "sim-credentials.csv"
    creds_file.write_text("device_id,password\n" + "".join(f"{d},{s}\n" for d, s in credentials))
    creds_file.chmod(0o600)
    console.print(f"[green]✓[/green] {len(credentials)} cụm loa mô phỏng tại "
                  + ", ".join(c.name for c in communes) + " (Ninh Bình).")

    conf = write_broker_config(broker_dir, settings.topic_prefix, SERVER_USER, server_password, [], "127.0.0.1",
                               broker_port, broker_dir / "data", hashed_devices=broker_accounts(container.uow()),
                               run_as_user="root" if os.geteuid() == 0 else None, server_port=server_port,
                               pid_file=settings.mqtt_pid_file)
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    processes: list[subprocess.Popen] = []
    broker = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=open(broker_dir / "mosquitto.log", "ab"),
                              stderr=subprocess.STDOUT)
    processes.append(broker)
    wait_for_port(broker_port, broker, "mosquitto")
    console.print(f"[green]✓[/green] mosquitto (không cho truy cập ẩn danh, có ACL) tại 127.0.0.1:{broker_port}")

    sim = subprocess.Popen(
        [sys.executable, "-m", "broadcast", "sim", "--broker", f"mqtt://127.0.0.1:{broker_port}",
         "--credentials", str(creds_file), "--public-key", container.signer.public_key_b64, "--no-live",
         "--log-events"],
        stdout=open(data_dir / "sim.log", "ab"), stderr=subprocess.STDOUT)
    processes.append(sim)
    console.print(f"[green]✓[/green] Bộ mô phỏng thiết bị đang chạy (nhật ký: {data_dir / 'sim.log'})")

    from broadcast.adapters.icecast import IcecastError, IcecastServer
    from broadcast.web.routes.live import icecast_config

    icecast = IcecastServer(icecast_config(container))
    try:
        icecast.start()
        console.print(f"[green]✓[/green] icecast2 (phát trực tiếp) tại {icecast.config.url}; "
                      f"trang phát trực tiếp: http://127.0.0.1:{port}/phat-truc-tiep")
    except IcecastError as exc:  # the rest of the demo works without live broadcasts
        console.print(f"[yellow]![/yellow] Không chạy được icecast2, không phát trực tiếp được: {exc}")
    plan_sample_programmes(container, communes)
    base = f"http://127.0.0.1:{port}"
    for line in welcome_lines(base, passwords, data_dir):
        console.print(line)
    try:
        uvicorn.run(create_app(container, Runtime(container)), host="127.0.0.1", port=port, log_level="warning")
    finally:
        for proc in reversed(processes):
            proc.send_signal(signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        icecast.stop()
        container.close()
