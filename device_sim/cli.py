"""`loaxa sim`: run N simulated devices against a broker, with a live summary."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from broadcast import protocol as p
from device_sim.credentials import CredentialsError, load_credentials
from device_sim.device import events
from device_sim.faults import FAULTS
from device_sim.fleet import FaultPlan, Fleet, apply_faults, make_specs
from device_sim.stream_player import StreamOptions
from device_sim.summary import render

app = typer.Typer(help="Mô phỏng cụm loa theo giao thức thiết bị LoaXa v1.")


def _public_key(value: str | None, path: Path | None) -> str:
    if value and path:
        raise typer.BadParameter("chỉ dùng một trong --public-key hoặc --public-key-file")
    if path is not None:
        value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise typer.BadParameter("cần khóa công khai của máy chủ (--public-key hoặc --public-key-file)")
    try:
        p.load_public_key_b64(value)
    except ValueError:
        raise typer.BadParameter("khóa công khai phải là 32 byte Ed25519 mã hóa base64") from None
    return value


def _fraction(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise typer.BadParameter(f"{name} phải nằm trong khoảng 0..1")
    return value


def _fault_plans(values: list[str]) -> list[tuple[str, float, float]]:
    """`NAME:FRACTION[@SECONDS]`, e.g. amplifier_fault:0.01@30: one percent of the fleet, thirty seconds in."""
    plans = []
    for value in values:
        name, _, rest = value.partition(":")
        share, _, after = rest.partition("@")
        try:
            plan = (name, float(share), float(after or 0))
        except ValueError:
            raise typer.BadParameter(
                f"--fault {value!r}: viết TÊN:TỈ_LỆ[@GIÂY], ví dụ amplifier_fault:0.01@30") from None
        if name not in FAULTS or not 0 < plan[1] <= 1 or plan[2] < 0:
            raise typer.BadParameter(f"--fault {value!r}: lỗi là một trong {', '.join(FAULTS)}, tỉ lệ trong (0, 1]")
        plans.append(plan)
    return plans


def sim(
    devices: Annotated[int, typer.Option("--devices", "-n", help="Số thiết bị (khi không có --credentials)")] = 10,
    broker: Annotated[str, typer.Option(
        help="Địa chỉ broker, ví dụ mqtt://127.0.0.1:1883 hoặc mqtts://máy:8883; nhiều nút của một cụm thì cách "
             "nhau bằng dấu phẩy (thiết bị chia đều, mất kết nối thì chuyển sang nút kế tiếp)")] = "mqtt://127.0.0.1:1883",
    ca_file: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False,
        help="Chứng chỉ CA (PEM) để kiểm tra broker mqtts:// (mặc định: CA của hệ thống)")] = None,
    credentials: Annotated[Path | None, typer.Option(help="CSV device_id,password[,zones]")] = None,
    public_key: Annotated[str | None, typer.Option(help="Khóa công khai máy chủ (base64, 32 byte)")] = None,
    public_key_file: Annotated[Path | None, typer.Option(help="Tệp chứa khóa công khai base64")] = None,
    prefix: Annotated[str, typer.Option(help="Tiền tố chủ đề")] = p.DEFAULT_PREFIX,
    speed: Annotated[float, typer.Option(help="Hệ số tăng tốc thời gian mô phỏng")] = 1.0,
    offline_fraction: Annotated[float, typer.Option(help="Tỉ lệ thiết bị mất kết nối")] = 0.0,
    drop_acks: Annotated[float, typer.Option(help="Xác suất làm mất một ack")] = 0.0,
    fail_downloads: Annotated[float, typer.Option(help="Tỉ lệ thiết bị tải tệp thất bại")] = 0.0,
    clock_skew_ms: Annotated[int, typer.Option(help="Lệch đồng hồ tối đa (ms), ngẫu nhiên ±")] = 0,
    tamper_fraction: Annotated[float, typer.Option(help="Tỉ lệ thiết bị gửi dữ liệu rác/giả mạo")] = 0.0,
    id_prefix: Annotated[str, typer.Option(help="Tiền tố mã thiết bị khi tự sinh")] = "sim",
    password: Annotated[str, typer.Option(help="Mật khẩu chung khi tự sinh thiết bị")] = "",
    zones: Annotated[list[str] | None, typer.Option("--zones", help="Vùng ban đầu (lặp lại tùy chọn)")] = None,
    duration: Annotated[float | None, typer.Option(help="Chạy trong S giây rồi dừng")] = None,
    seed: Annotated[int, typer.Option(help="Hạt giống ngẫu nhiên")] = 1,
    live: Annotated[bool, typer.Option(help="Bảng tóm tắt trực tiếp")] = True,
    fault: Annotated[list[str] | None, typer.Option(
        "--fault", help="Gây lỗi cho một phần thiết bị khi đang chạy: TÊN:TỈ_LỆ[@GIÂY] (lặp lại được); TÊN là "
                        + ", ".join(FAULTS))] = None,
    log_events: Annotated[bool, typer.Option(
        help="Ghi một dòng cho mỗi việc thiết bị làm (kết nối, nhận lịch, phát, lỗi): cho vài chục thiết bị")] = False,
    listen_streams: Annotated[bool, typer.Option(
        help="Nghe thật các luồng trực tiếp (stream_url): kết nối HTTP, giải mã khung MP3 rồi mới báo đang phát; "
             "--no-listen-streams: coi như phát ngay, không kết nối")] = True,
    stream_capture_dir: Annotated[Path | None, typer.Option(
        help="Lưu vài giây đầu của mỗi luồng mỗi thiết bị nghe được vào thư mục này (tệp MP3)")] = None,
    stream_capture_s: Annotated[float, typer.Option(help="Số giây đầu của luồng được lưu")] = 10.0,
) -> None:
    """Chạy các thiết bị mô phỏng nói giao thức v1 qua broker MQTT thật."""
    key = _public_key(public_key, public_key_file)
    injections = _fault_plans(fault or [])
    faults = FaultPlan(
        offline_fraction=_fraction("--offline-fraction", offline_fraction),
        drop_ack_rate=_fraction("--drop-acks", drop_acks),
        fail_download_fraction=_fraction("--fail-downloads", fail_downloads),
        clock_skew_ms=abs(clock_skew_ms),
        tamper_fraction=_fraction("--tamper-fraction", tamper_fraction),
    )
    if speed <= 0:
        raise typer.BadParameter("--speed phải lớn hơn 0")
    if credentials is not None:
        try:
            specs = apply_faults(load_credentials(credentials), faults, seed)
        except (OSError, CredentialsError) as err:
            raise typer.BadParameter(f"không đọc được tệp thông tin đăng nhập: {err}") from None
    else:
        if devices < 1:
            raise typer.BadParameter("--devices phải ít nhất là 1")
        specs = make_specs(devices, id_prefix=id_prefix, password=password, zones=zones or (),
                           faults=faults, seed=seed)
    try:
        fleet = Fleet(broker, specs, key, prefix=prefix, speed=speed, seed=seed, ca_file=ca_file,
                      stream_options=StreamOptions(listen=listen_streams, capture_dir=stream_capture_dir,
                                                   capture_s=stream_capture_s))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    if log_events:
        events.addHandler(handler)
        events.setLevel(logging.INFO)
    try:
        stats = asyncio.run(_run(fleet, duration, live, injections))
    finally:
        events.removeHandler(handler)
        events.setLevel(logging.NOTSET)
    Console().print(render(stats, elapsed_s=stats.pop("_elapsed", 0.0), sim_time=stats.pop("_sim_time", "")))


async def _run(fleet: Fleet, duration: float | None, live: bool,
               injections: Sequence[tuple[str, float, float]] = ()) -> dict:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await fleet.start()
    t0 = time.monotonic()
    for n, (name, share, after) in enumerate(injections):
        loop.call_later(after, fleet.inject_fault, name, share, n)

    def table():
        return render(fleet.stats(), elapsed_s=time.monotonic() - t0,
                      sim_time=p.epoch_to_rfc3339(fleet.clock.now()))

    async def wait_end() -> None:
        try:
            await asyncio.wait_for(stop.wait(), duration)
        except TimeoutError:
            pass

    if live:
        with Live(table(), refresh_per_second=2, transient=True) as view:
            ender = asyncio.ensure_future(wait_end())
            while not ender.done():
                await asyncio.wait([ender], timeout=0.5)
                view.update(table())
    else:
        await wait_end()
    stats = fleet.stats()
    stats["_elapsed"] = time.monotonic() - t0
    stats["_sim_time"] = p.epoch_to_rfc3339(fleet.clock.now())
    await fleet.stop()
    return stats


app.command()(sim)

if __name__ == "__main__":
    app()
