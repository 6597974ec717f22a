"""`loaxa ...`: the operator's command line. Thin: parse, call a use case, print in Vietnamese."""
from __future__ import annotations

import getpass
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator

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


@app.command("serve")
def serve(host: Annotated[str, typer.Option()] = "127.0.0.1", port: Annotated[int, typer.Option()] = 8000) -> None:
    """Chạy máy chủ API (FastAPI)."""
    import uvicorn

    from broadcast.bootstrap import build_container
    from broadcast.web.app import create_app

    container = build_container(settings_or_exit())
    uvicorn.run(create_app(container), host=host, port=port, log_level="info")


@app.command("demo")
def demo(port: Annotated[int, typer.Option()] = 8000,
         data_dir: Annotated[Path, typer.Option(help="Thư mục dữ liệu của bản chạy thử.")] = Path("var/demo")) -> None:
    """Chạy thử toàn bộ hệ thống trên máy này."""
    from broadcast.demo import run_demo

    run_demo(port=port, data_dir=data_dir)


def main() -> None:  # pragma: no cover - console script entry
    app()
