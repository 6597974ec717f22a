"""`loaxa ...`: the operator's command line. Thin: parse, call a use case, print in Vietnamese."""
from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from broadcast.domain.errors import DomainError
from broadcast.settings import Settings, SettingsError, load_settings

app = typer.Typer(help="LoaXa - hệ thống loa truyền thanh cơ sở số.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Cơ sở dữ liệu.", no_args_is_help=True)
areas_app = typer.Typer(help="Đơn vị hành chính.", no_args_is_help=True)
users_app = typer.Typer(help="Tài khoản người dùng.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(areas_app, name="areas")
app.add_typer(users_app, name="users")
devices_app = typer.Typer(help="Thiết bị (cụm loa).", no_args_is_help=True)
mqtt_app = typer.Typer(help="Máy chủ MQTT (mosquitto).", no_args_is_help=True)
app.add_typer(devices_app, name="devices")
app.add_typer(mqtt_app, name="mqtt")
audio_app = typer.Typer(help="Âm thanh: chuẩn hóa, nhập vào thư viện.", no_args_is_help=True)
app.add_typer(audio_app, name="audio")


def _register_foreign_commands() -> None:
    """Commands that live with their packages: audio normalize, the device simulator, the stand-in central
    server, and province reports."""
    from audio_library.cli import normalize_command
    from broadcast.reports_cli import report
    from device_sim.central.cli import central_sim
    from device_sim.cli import sim

    audio_app.command("normalize")(normalize_command)
    app.command("sim", help="Mô phỏng nhiều cụm loa theo giao thức v1 qua một máy chủ MQTT thật.")(sim)
    app.command("central-sim", help="Máy chủ giả lập Hệ thống thông tin nguồn trung ương (cho kiểm thử, chạy thử).")(
        central_sim)
    app.command("report", help="Xuất báo cáo cho tỉnh (CSV, XLSX, JSON).")(report)
    from broadcast.backup_cli import backup, restore

    app.command("backup", help="Sao lưu cơ sở dữ liệu, kho âm thanh, khóa ký và bí mật vào một tệp lưu trữ.")(backup)
    app.command("restore", help="Khôi phục bản sao lưu vào một máy trống (kiểm tra mọi checksum trước).")(restore)
    from broadcast.live_cli import icecast_config_command, live

    app.command("live", help="Phát trực tiếp từ bàn trộn âm (ALSA) hoặc một tệp tới các loa đã chọn.")(live)
    app.command("icecast-config", help="Ghi cấu hình Icecast 2 cho phát trực tiếp.")(icecast_config_command)


_register_foreign_commands()

console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def container_for_cli() -> Iterator:
    """Build the adapters, turn domain errors into a message and exit code 1."""
    from broadcast.bootstrap import build_container

    container = build_container(settings_or_exit())
    try:
        yield container
    except DomainError as exc:
        err_console.print(f"[red]Lỗi:[/red] {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        container.close()


def warn_broker(problem: str | None) -> None:
    """The registry changed but the broker does not know yet: say so, and how to finish by hand."""
    if problem is not None:
        err_console.print(f"[yellow]Cảnh báo:[/yellow] {problem} Chạy lại `loaxa mqtt config` và nạp lại mosquitto.",
                          highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Nâng cấp lược đồ cơ sở dữ liệu lên phiên bản mới nhất (Alembic)."""
    from broadcast.persistence.migrate import current_revision, upgrade

    with container_for_cli() as container:
        upgrade(container.engine)
        console.print(f"Cơ sở dữ liệu ở phiên bản {current_revision(container.engine)}.")


@areas_app.command("seed")
def areas_seed(province: Annotated[str | None, typer.Option(help="Chỉ nạp một tỉnh (mã 2 chữ số).")] = None) -> None:
    """Nạp danh mục 34 tỉnh, thành và 3.321 xã, phường, đặc khu (2025); chạy lại không thay đổi gì."""
    from broadcast.services.area_catalog import official_areas, province_codes
    from broadcast.services.areas import seed_areas
    from broadcast.services.context import Actor

    if province is not None and province not in province_codes():
        err_console.print(f"[red]Lỗi:[/red] Không có tỉnh, thành phố mã {province}.", highlight=False)
        raise typer.Exit(1)
    with container_for_cli() as container:
        result = seed_areas(container.uow(), container.clock, official_areas(province), Actor(None))
    console.print(f"Đã thêm {result['added']} đơn vị; hiện có {result['provinces']} tỉnh, thành phố và "
                  f"{result['communes']} xã, phường, đặc khu.")


def read_password(confirm: bool = True) -> str:
    """From standard input when it is not a terminal (scripts), otherwise asked twice without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu: ")
    if confirm and getpass.getpass("Nhập lại mật khẩu: ") != first:
        err_console.print("[red]Lỗi:[/red] Hai lần nhập mật khẩu không khớp.")
        raise typer.Exit(1)
    return first


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin, editor, approver, emergency_operator, viewer")],
    area: Annotated[str, typer.Option(help="Mã tỉnh hoặc xã mà vai trò có hiệu lực.")],
    full_name: Annotated[str, typer.Option(help="Họ và tên.")] = "",
) -> None:
    """Tạo tài khoản; mật khẩu đọc từ đầu vào chuẩn khi không phải terminal."""
    from broadcast.services.context import Actor
    from broadcast.services.users import create_user

    password = read_password()
    with container_for_cli() as container:
        user = create_user(container.uow(), container.clock, container.hasher, Actor(None), username=username,
                           password=password, role=role, area_code=area, full_name=full_name)
    console.print(f"Đã tạo tài khoản {user.username} ({role} tại {area}).")


@users_app.command("set-password")
def users_set_password(username: str) -> None:
    """Đặt lại mật khẩu; mật khẩu đọc từ đầu vào chuẩn khi không phải terminal."""
    from broadcast.services.context import Actor
    from broadcast.services.users import set_password

    password = read_password()
    with container_for_cli() as container:
        set_password(container.uow(), container.clock, container.hasher, Actor(None), username=username,
                     password=password)
    console.print(f"Đã đặt lại mật khẩu cho {username}.")


def _set_disabled(username: str, disabled: bool) -> None:
    from broadcast.services.context import Actor
    from broadcast.services.users import set_disabled

    with container_for_cli() as container:
        set_disabled(container.uow(), container.clock, Actor(None), username=username, disabled=disabled)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Khóa tài khoản: mọi phiên đăng nhập kết thúc ngay, không đăng nhập được nữa cho tới khi mở khóa."""
    _set_disabled(username, True)
    console.print(f"Đã khóa tài khoản {username}; mọi phiên đăng nhập của tài khoản đã kết thúc.")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Mở khóa tài khoản đã bị khóa."""
    _set_disabled(username, False)
    console.print(f"Đã mở khóa tài khoản {username}.")


@devices_app.command("import")
def devices_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: id,name,area_code,zones,vendor,...")],
    credentials_out: Annotated[
        Path | None, typer.Option(help="Ghi mật khẩu MQTT (chỉ hiện một lần) ra tệp CSV.")] = None,
) -> None:
    """Đăng ký hàng loạt thiết bị từ tệp CSV; dòng lỗi không làm dừng các dòng khác."""
    from rich.table import Table

    from broadcast.services.context import Actor
    from broadcast.services.devices import import_devices

    with container_for_cli() as container:
        results = import_devices(container.uow(), container.clock, Actor(None), file.read_text(encoding="utf-8-sig"))
        warn_broker(container.sync_broker())
    table = Table("Dòng", "Thiết bị", "Kết quả")
    for row in results:
        table.add_row(str(row.line), row.device_id, ("[green]" if row.ok else "[red]") + row.message)
    console.print(table)
    if credentials_out is not None:
        credentials_out.touch(mode=0o600)
        credentials_out.write_text("device_id,password\n" + "".join(
            f"{r.device_id},{r.mqtt_password}\n" for r in results if r.ok), encoding="utf-8")
    failed = sum(not r.ok for r in results)
    console.print(f"{len(results) - failed} thiết bị đã đăng ký, {failed} dòng lỗi.")
    if failed:
        raise typer.Exit(1)


@devices_app.command("rotate-secret")
def devices_rotate_secret(device_id: str) -> None:
    """Cấp mật khẩu MQTT mới cho thiết bị; với LOAXA_MQTT_CONFIG_DIR, mật khẩu cũ hết hiệu lực ngay."""
    from broadcast.services.context import Actor
    from broadcast.services.devices import rotate_secret

    with container_for_cli() as container:
        password = rotate_secret(container.uow(), container.clock, Actor(None), device_id)
        warn_broker(container.sync_broker())
    console.print(f"Mật khẩu mới của {device_id}: {password}")


@devices_app.command("disable")
def devices_disable(device_id: str) -> None:
    """Vô hiệu hóa thiết bị: không nhận lịch mới; với LOAXA_MQTT_CONFIG_DIR, bị ngắt khỏi mosquitto ngay."""
    from broadcast.services.context import Actor
    from broadcast.services.devices import set_disabled

    with container_for_cli() as container:
        set_disabled(container.uow(), container.clock, Actor(None), device_id, True)
        warn_broker(container.sync_broker())
    console.print(f"Đã vô hiệu hóa thiết bị {device_id}.")


@mqtt_app.command("config")
def mqtt_config(
    outdir: Path,
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe cho thiết bị (0.0.0.0: mọi địa chỉ).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng MQTT thường cho thiết bị.")] = 1883,
    plain: Annotated[bool, typer.Option(help="Có cổng MQTT không mã hóa cho thiết bị (--no-plain: chỉ TLS).")] = True,
    server_host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe cho tài khoản máy chủ.")] = "127.0.0.1",
    server_port: Annotated[int, typer.Option(help="Cổng của tài khoản máy chủ (LOAXA_MQTT_URL).")] = 1884,
    tls_cert: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                  help="Chứng chỉ TLS của máy chủ MQTT (PEM, kèm chuỗi CA).")] = None,
    tls_key: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Khóa riêng TLS (PEM).")] = None,
    tls_port: Annotated[int, typer.Option(help="Cổng MQTT qua TLS cho thiết bị.")] = 8883,
    server_tls: Annotated[bool, typer.Option(help="Tài khoản máy chủ cũng dùng TLS (mqtts://).")] = False,
    persistence_dir: Annotated[Path | None, typer.Option()] = None,
    pid_file: Annotated[Path | None, typer.Option(help="Tệp pid của mosquitto (cho LOAXA_MQTT_PID_FILE).")] = None,
    engine: Annotated[str, typer.Option(help="mosquitto (một máy) hoặc nats (cụm nats-server, docs/nats.md).")]
    = "mosquitto",
    nats_hosts: Annotated[str, typer.Option(help="nats: địa chỉ các nút, cách nhau bằng dấu phẩy (cổng 4222, "
                                                 "cụm 6222, MQTT --port, giám sát 8222).")] = "",
    device_secrets: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help=(
        "nats: CSV mã_thiết_bị,mật_khẩu (NATS cần băm bcrypt; máy chủ chỉ lưu băm của mosquitto)."))] = None,
) -> None:
    """Ghi passwd (thiết bị), server_passwd, acl và mosquitto.conf vào OUTDIR; không cho truy cập ẩn danh.

    Thiết bị và máy chủ đăng nhập ở hai cổng riêng; ở cổng thiết bị, mã kết nối (client id) luôn là mã thiết bị.
    Với --engine nats: accounts.conf và một tệp cho mỗi nút của cụm (docs/nats.md)."""
    if engine != "mosquitto":
        from broadcast.nats_cli import write_nats_cluster_config

        write_nats_cluster_config(outdir, engine=engine, hosts=nats_hosts, mqtt_port=port,
                                  secrets_csv=device_secrets, store_dir=persistence_dir)
        return
    from broadcast.protocol.broker_config import TlsListener, write_broker_config
    from broadcast.services.devices import broker_accounts, left_out_of_broker

    if (tls_cert is None) != (tls_key is None):
        err_console.print("[red]Lỗi:[/red] Cần cả --tls-cert và --tls-key.")
        raise typer.Exit(2)
    if tls_cert is None and (server_tls or not plain):
        err_console.print("[red]Lỗi:[/red] --server-tls và --no-plain cần --tls-cert và --tls-key.")
        raise typer.Exit(2)
    tls = TlsListener(tls_cert.resolve(), tls_key.resolve(), tls_port) if tls_cert and tls_key else None
    with container_for_cli() as container:
        endpoint = container.settings.mqtt
        if not endpoint.username or not endpoint.password:
            err_console.print("[red]Lỗi:[/red] LOAXA_MQTT_URL phải có tài khoản máy chủ: mqtt://user:pass@host:port")
            raise typer.Exit(2)
        accounts = broker_accounts(container.uow())
        left_out = left_out_of_broker(container.uow())
        try:
            conf = write_broker_config(outdir, container.settings.topic_prefix, endpoint.username, endpoint.password,
                                       [], host, port, persistence_dir, hashed_devices=accounts,
                                       server_host=server_host, server_port=server_port, server_tls=server_tls,
                                       tls=tls, plain=plain, pid_file=pid_file)
        except OSError as exc:
            err_console.print(f"[red]Lỗi:[/red] Không ghi được cấu hình vào {outdir}: {exc.strerror or exc}.",
                              highlight=False)
            raise typer.Exit(1) from None
    for device_id in left_out:
        err_console.print(f"[yellow]Cảnh báo:[/yellow] thiết bị {device_id} không được đưa vào: mã này dành cho máy "
                          "chủ. Hãy đăng ký lại thiết bị với mã khác.", highlight=False)
    if endpoint.port != server_port:
        err_console.print(f"[yellow]Cảnh báo:[/yellow] LOAXA_MQTT_URL dùng cổng {endpoint.port}, còn tài khoản máy "
                          f"chủ đăng nhập ở cổng {server_port}.", highlight=False)
    console.print(f"Đã ghi cấu hình cho {len(accounts)} thiết bị: {conf}")
    console.print("Khởi động lại mosquitto khi đổi cổng hoặc TLS; khi chỉ đổi thiết bị, nạp lại là đủ: kill -HUP <pid> "
                  "(hoặc systemctl reload mosquitto).")


@audio_app.command("import")
def audio_import(
    files: Annotated[list[Path], typer.Argument(help="Các tệp âm thanh hoặc video.")],
    title: Annotated[str | None, typer.Option(help="Tiêu đề (mặc định: tên tệp).")] = None,
    language: Annotated[str, typer.Option(help="Mã ngôn ngữ: vi, mtq (Mường), km (Khmer)...")] = "vi",
    topic: Annotated[str, typer.Option(help="Chủ đề: land, road_traffic, marriage_family...")] = "other",
    profile: Annotated[str, typer.Option(help="speech hoặc music.")] = "speech",
    area: Annotated[str | None, typer.Option(help="Mã tỉnh/xã sở hữu (mặc định: thư viện dùng chung).")] = None,
) -> None:
    """Nhập tệp vào thư viện âm thanh: kiểm tra, chuẩn hóa; tệp lỗi không làm dừng các tệp khác."""
    from rich.progress import Progress
    from rich.table import Table

    from broadcast.services.audio import import_files

    with container_for_cli() as container, Progress(console=console, transient=True) as progress:
        task = progress.add_task("Đang xử lý", total=len(files))
        results = []
        for result in import_files(container.uow, container.clock, container.audio, files, title=title,
                                   language=language, topic=topic, profile=profile, area_code=area,
                                   work_dir=container.settings.data_dir / "uploads", spool_dir=container.spool_dir):
            results.append(result)
            progress.advance(task)
    table = Table("Tệp", "Kết quả", "Mã", "Độ dài", "LUFS vào → ra")
    for r in results:
        ready = r.asset if r.ok else None
        figures = (f"{ready.loudness.get('input_lufs', 0):.1f} → {ready.loudness.get('output_lufs', 0):.1f}"
                   if ready else "")
        table.add_row(str(r.path), "[green]sẵn sàng" if r.ok else f"[red]{r.message}",
                      str(r.asset.id) if r.asset else "",
                      f"{ready.duration_ms / 1000:.1f} s" if ready and ready.duration_ms else "", figures)
    console.print(table)
    failed = sum(not r.ok for r in results)
    console.print(f"{len(results) - failed} tệp thành công, {failed} tệp lỗi.")
    if failed:
        raise typer.Exit(1)


playlog_app = typer.Typer(help="Nhật ký phát (bằng chứng đã phát).", no_args_is_help=True)
app.add_typer(playlog_app, name="playlog")


@playlog_app.command("purge")
def playlog_purge() -> None:
    """Xóa nhật ký phát, nhật ký kiểm toán và ack cũ hơn thời hạn lưu giữ (mặc định 24 tháng)."""
    from broadcast.services.playlog import purge_expired

    with container_for_cli() as container:
        counts = purge_expired(container.uow, container.clock, container.settings.retention_days)
    console.print("Đã xóa: " + ", ".join(f"{name} {n}" for name, n in counts.items()))


@app.command("serve")
def serve(host: Annotated[str, typer.Option()] = "127.0.0.1", port: Annotated[int, typer.Option()] = 8000,
          scheduler: Annotated[bool, typer.Option(help="Chạy kèm bộ hẹn giờ và cổng MQTT (một máy chủ).")] = True,
          ) -> None:
    """Chạy máy chủ API (FastAPI); mặc định kèm bộ hẹn giờ và cổng MQTT cho triển khai một máy."""
    import uvicorn

    from broadcast.bootstrap import build_container
    from broadcast.leader_runtime import LeaderRuntime
    from broadcast.runtime import SERVER_GC_THRESHOLD, InboxNode
    from broadcast.web.app import create_app
    from mqtt_io.gc_tuning import settle_heap

    container = build_container(settings_or_exit())
    # The embedded runtime leads only while it holds the lease; an API node takes its share of device messages.
    runtime = LeaderRuntime(container) if scheduler else InboxNode(container) if container.settings.api_inbox else None
    web_app = create_app(container, runtime)
    # What start-up built lives as long as the process: out of the cyclic GC's full collections, which paused pages
    # for 100-150 ms after a large download had churned the heap (mqtt_io.gc_tuning; the runtime settles again).
    settle_heap(SERVER_GC_THRESHOLD)
    # Only LOAXA_TRUSTED_PROXIES decides whose X-Forwarded-For is believed (broadcast.adapters.trusted_proxies),
    # not uvicorn.
    uvicorn.run(web_app, host=host, port=port, log_level="info", proxy_headers=False)


@app.command("scheduler")
def scheduler_command() -> None:
    """Chạy bộ hẹn giờ và cổng MQTT; dùng khi API chạy --no-scheduler. Có thể chạy nhiều tiến trình trên một cơ sở
    dữ liệu: tiến trình giữ quyền chủ (lease) làm việc, các tiến trình khác chờ và thay thế khi nó dừng."""
    import signal
    import threading

    from broadcast.bootstrap import build_container
    from broadcast.leader_runtime import LeaderRuntime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    container = build_container(settings_or_exit())
    runtime = LeaderRuntime(container)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start()
    console.print("Bộ hẹn giờ đã khởi động: làm việc khi giữ quyền chủ (lease), nếu không thì chờ. Nhấn Ctrl+C để "
                  "dừng.")
    stop.wait()
    runtime.stop()
    container.close()


@app.command("demo")
def demo(port: Annotated[int, typer.Option()] = 8000,
         data_dir: Annotated[Path, typer.Option(help="Thư mục dữ liệu của bản chạy thử.")] = Path("var/demo")) -> None:
    """Chạy thử toàn bộ hệ thống trên máy này."""
    from broadcast.demo import run_demo

    run_demo(port=port, data_dir=data_dir)


def main() -> None:  # pragma: no cover - console script entry
    app()
