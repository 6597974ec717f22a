"""`loaxa demo`: the whole system on one machine, for a first look.

In its own data dir it: migrates the database, seeds the official areas, creates an admin (password printed),
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
console = Console()


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


def run_demo(*, port: int, data_dir: Path) -> None:
    import uvicorn

    from broadcast.bootstrap import build_container
    from broadcast.devices.broker_config import write_broker_config
    from broadcast.persistence.migrate import upgrade
    from broadcast.runtime import Runtime
    from broadcast.services.area_catalog import official_areas
    from broadcast.services.areas import seed_areas
    from broadcast.services.context import Actor
    from broadcast.services.devices import DeviceSpec, broker_accounts, register_device, rotate_secret
    from broadcast.services.users import create_user, set_password
    from broadcast.settings import load_settings
    from broadcast.web.app import create_app

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    broker_port = free_port()
    server_password = kept_secret(data_dir / "mqtt_server_password")
    settings = load_settings(data_dir=data_dir, public_url=f"http://127.0.0.1:{port}",
                             mqtt_url=f"mqtt://{SERVER_USER}:{server_password}@127.0.0.1:{broker_port}")
    container = build_container(settings)
    upgrade(container.engine)
    seeded = seed_areas(container.uow(), container.clock, official_areas(), Actor(None))
    console.print(f"[green]✓[/green] Danh mục: {seeded['provinces']} tỉnh, thành phố; {seeded['communes']} xã, phường.")

    username, password = "admin", demo_password()
    with container.uow() as uow:
        existing = uow.users.get_by_username(username)
    if existing:  # a rerun: a fresh password, printed again
        set_password(container.uow(), container.clock, container.hasher, Actor(None), username=username,
                     password=password)
    else:
        create_user(container.uow(), container.clock, container.hasher, Actor(None), username=username,
                    password=password, role="admin", area_code=DEMO_PROVINCE, full_name="Quản trị viên chạy thử")

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

    broker_dir = data_dir / "mosquitto"
    conf = write_broker_config(broker_dir, settings.topic_prefix, SERVER_USER, server_password, [], "127.0.0.1",
                               broker_port, broker_dir / "data", hashed_devices=broker_accounts(container.uow()),
                               run_as_user="root" if os.geteuid() == 0 else None)
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    processes: list[subprocess.Popen] = []
    broker = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=open(broker_dir / "mosquitto.log", "ab"),
                              stderr=subprocess.STDOUT)
    processes.append(broker)
    wait_for_port(broker_port, broker, "mosquitto")
    console.print(f"[green]✓[/green] mosquitto (không cho truy cập ẩn danh, có ACL) tại 127.0.0.1:{broker_port}")

    sim = subprocess.Popen(
        [sys.executable, "-m", "broadcast", "sim", "--broker", f"mqtt://127.0.0.1:{broker_port}",
         "--credentials", str(creds_file), "--public-key", container.signer.public_key_b64, "--no-live"],
        stdout=open(data_dir / "sim.log", "ab"), stderr=subprocess.STDOUT)
    processes.append(sim)
    console.print(f"[green]✓[/green] Bộ mô phỏng thiết bị đang chạy (nhật ký: {data_dir / 'sim.log'})")

    base = f"http://127.0.0.1:{port}"
    console.print(f"[green]✓[/green] Tài khoản quản trị: [bold]{username}[/bold] / mật khẩu: [bold]{password}[/bold]")
    console.print(f"  Tài liệu API: {base}/docs   Sức khỏe: {base}/readyz   Số liệu: {base}/metrics")
    console.print(f"  Đăng nhập: TOKEN=$(curl -s -d 'username={username}&password={password}' "
                  f"{base}/api/v1/auth/token | python3 -c 'import sys,json;print(json.load(sys.stdin)[\"access_token\"])')")
    console.print(f"  Xem thiết bị trực tuyến: curl -H \"Authorization: Bearer $TOKEN\" '{base}/api/v1/devices?online=true'")
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
        container.close()
