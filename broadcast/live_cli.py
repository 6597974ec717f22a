"""`loaxa live --targets zone:ID --input DEVICE|FILE`: go live from a PC with a mixer, through the same path as the
web page: sign in, POST /api/v1/live, then ffmpeg encodes the ALSA device (or a file, paced in real time) as
Opus/WebM in short clusters, sent over the session's WebSocket. Ctrl-C stops the session cleanly.

A plain function with typer annotations; broadcast/cli.py registers it (`app.command("live")(live)`). It is a
client of the API (httpx, websockets), so it works from any PC that reaches the server.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer

CHUNK_BYTES = 4096
TARGET_KINDS = {"area": "areas", "zone": "zones", "device": "devices"}


class LiveClientError(Exception):
    """The server refused or ended the live session; the message is the server's, in Vietnamese."""


def parse_targets(values: Sequence[str]) -> dict[str, list[str]]:
    """`area:00070`, `zone:z-1`, `device:hk-001`, several per option separated by commas."""
    targets: dict[str, list[str]] = {"areas": [], "zones": [], "devices": []}
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            kind, _, ident = item.partition(":")
            if kind not in TARGET_KINDS or not ident:
                raise LiveClientError(f"Đích nhận không hợp lệ: {item!r}. Dạng: area:MÃ, zone:MÃ hoặc device:MÃ.")
            targets[TARGET_KINDS[kind]].append(ident)
    if not any(targets.values()):
        raise LiveClientError("Cần ít nhất một đích nhận (--targets zone:MÃ).")
    return targets


def capture_command(source: str, *, ffmpeg: str = "ffmpeg") -> list[str]:
    """ffmpeg reading a file (paced at real time, like a microphone) or an ALSA device, writing Opus in WebM with a
    cluster every 250 ms to stdout: the same as a browser's MediaRecorder sends."""
    if Path(source).is_file():
        reader = ["-re", "-i", source]
    else:
        reader = ["-f", "alsa", "-i", source]
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *reader, "-vn", "-ac", "1", "-ar", "48000",
            "-c:a", "libopus", "-b:a", "48k", "-application", "voip", "-f", "webm", "-live", "1",
            "-cluster_time_limit", "250", "-flush_packets", "1", "pipe:1"]


def ws_url(server: str, path: str) -> str:
    parts = urlsplit(server)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


async def send_audio(server: str, token: str, ws_path: str, command: Sequence[str]) -> dict[str, Any]:
    """Run the capture and send its output until it ends (or the server ends the session); returns the server's
    last message ({"type": "ended", ...} normally)."""
    import websockets

    last: dict[str, Any] = {}
    async with websockets.connect(ws_url(server, ws_path), max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        ready = json.loads(await ws.recv())
        if ready.get("type") != "ready":
            raise LiveClientError(ready.get("message") or f"Máy chủ từ chối: {ready}")
        proc = await asyncio.create_subprocess_exec(*command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                    stderr=subprocess.DEVNULL)

        async def listen() -> None:
            nonlocal last
            async for message in ws:
                if isinstance(message, str):
                    last = json.loads(message)

        listener = asyncio.create_task(listen())
        try:
            assert proc.stdout is not None
            while not listener.done():
                data = await proc.stdout.read(CHUNK_BYTES)
                if not data:
                    break
                await ws.send(data)
            if not listener.done():
                await ws.send(json.dumps({"type": "stop"}))
                await asyncio.wait_for(listener, timeout=30)
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            listener.cancel()
    return last


def start_session(server: str, token: str, targets: dict[str, list[str]], priority: str) -> dict[str, Any]:
    import httpx

    response = httpx.post(f"{server.rstrip('/')}/api/v1/live", json={"targets": targets, "priority": priority},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if response.status_code != 201:
        raise LiveClientError(response.json().get("error", {}).get("message") or response.text)
    return response.json()


def sign_in(server: str, username: str, password: str) -> str:
    import httpx

    response = httpx.post(f"{server.rstrip('/')}/api/v1/auth/token",
                          data={"username": username, "password": password}, timeout=30)
    if response.status_code != 200:
        raise LiveClientError("Đăng nhập không thành công: sai tên đăng nhập hoặc mật khẩu.")
    return response.json()["access_token"]


def live(
    targets: Annotated[list[str], typer.Option("--targets", help="Nơi nhận: area:MÃ, zone:MÃ, device:MÃ "
                                                                   "(lặp lại hoặc cách nhau bằng dấu phẩy).")],
    source: Annotated[str, typer.Option("--input", help="Thiết bị ALSA (ví dụ hw:1,0) hoặc tệp âm thanh.")],
    user: Annotated[str, typer.Option("--user", help="Tên đăng nhập; mật khẩu lấy từ LOAXA_PASSWORD "
                                                     "hoặc được hỏi.")],
    server: Annotated[str, typer.Option("--server", help="Địa chỉ máy chủ LoaXa.")] = "http://localhost:8000",
    priority: Annotated[str, typer.Option("--priority", help="normal, priority hoặc emergency.")] = "normal",
) -> None:
    """Phát trực tiếp từ bàn trộn âm hoặc một tệp tới các loa đã chọn; Ctrl-C để dừng."""
    import getpass

    try:
        wanted = parse_targets(targets)
        password = os.environ.get("LOAXA_PASSWORD") or getpass.getpass("Mật khẩu: ")
        token = sign_in(server, user, password)
        session = start_session(server, token, wanted, priority)
        typer.echo(f"Đang phát trực tiếp (phiên số {session['id']}) tới {session['reach']['tracked']} thiết bị. "
                   "Nhấn Ctrl-C để dừng.")
        try:
            ended = asyncio.run(send_audio(server, token, session["ws_path"], capture_command(source)))
        except KeyboardInterrupt:
            import httpx

            httpx.post(f"{server.rstrip('/')}/api/v1/live/{session['id']}/stop",
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
            ended = {"status": "ended"}
    except (LiveClientError, OSError) as exc:
        typer.echo(f"Lỗi: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Đã kết thúc phiên {session['id']}: {ended.get('status', '?')}.")


def icecast_config_command(
    directory: Annotated[Path, typer.Argument(help="Thư mục ghi icecast.xml.")],
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Thư mục Icecast dùng khi chạy (nhật ký, "
                                                                    "pid); mặc định là thư mục trên.")] = None,
    host: Annotated[str, typer.Option("--host", help="Địa chỉ Icecast lắng nghe.")] = "0.0.0.0",
) -> None:
    """Ghi cấu hình Icecast 2 cho phát trực tiếp: mật khẩu nguồn lấy từ LOAXA_ICECAST_SOURCE_PASSWORD
    (hoặc tạo một lần trong thư mục dữ liệu), cổng và giới hạn người nghe mỗi điểm phát từ cài đặt."""
    from broadcast.adapters.icecast import IcecastConfig, IcecastSecrets, load_or_create_secrets
    from broadcast.settings import load_settings

    settings = load_settings()
    stored = load_or_create_secrets(settings.data_dir / "icecast")
    config = IcecastConfig(directory=run_dir or directory, host=host, port=settings.icecast_port,
                           secrets=IcecastSecrets(settings.icecast_source_password or stored.source_password,
                                                  stored.admin_password),
                           max_listeners_per_mount=settings.icecast_max_listeners)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "icecast.xml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(config.render())
    typer.echo(f"Đã ghi {path}")
