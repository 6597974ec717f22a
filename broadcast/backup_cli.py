"""`loaxa backup OUT` and `loaxa restore IN` (registered in broadcast/cli.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def _settings():
    from broadcast.cli import settings_or_exit

    return settings_or_exit()


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.1f} kB"


def backup(out: Annotated[Path, typer.Argument(
        help="Tệp lưu trữ sẽ tạo: .tar, .tar.gz (.tgz), .tar.xz hoặc .tar.bz2.")]) -> None:
    """Sao lưu khi hệ thống đang chạy: cơ sở dữ liệu, kho âm thanh, khóa ký, bí mật, kèm tệp kê khai có checksum."""
    from broadcast.backup import BackupError
    from broadcast.backup.service import backup as run_backup

    try:
        outcome = run_backup(_settings(), out)
    except BackupError as exc:
        err_console.print(f"[red]Lỗi:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    m = outcome.manifest
    console.print(f"Đã sao lưu {len(m.files)} tệp ({_size(outcome.total_bytes)}), cơ sở dữ liệu {m.database_engine} "
                  f"phiên bản {m.alembic_revision}, vào {out}. Hãy cất tệp này an toàn: nó chứa khóa ký của máy chủ.",
                  highlight=False)


def restore(source: Annotated[Path, typer.Argument(help="Tệp lưu trữ do `loaxa backup` tạo.")],
            force: Annotated[bool, typer.Option(
                "--force", help="Ghi đè thư mục dữ liệu và cơ sở dữ liệu đã có (mặc định chỉ khôi phục vào máy trống)."
            )] = False) -> None:
    """Khôi phục bản sao lưu: kiểm tra mọi checksum trước khi ghi; chỉ vào máy trống trừ khi có --force."""
    from broadcast.backup import BackupError
    from broadcast.backup.service import restore as run_restore

    try:
        outcome = run_restore(_settings(), source, force=force)
    except BackupError as exc:
        err_console.print(f"[red]Lỗi:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    m = outcome.manifest
    console.print(f"Đã khôi phục {len(m.files)} tệp ({_size(outcome.total_bytes)}) từ bản sao lưu lúc {m.created_at}; "
                  f"cơ sở dữ liệu ở phiên bản {m.alembic_revision}.", highlight=False)
