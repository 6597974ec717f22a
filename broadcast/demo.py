"""`loaxa demo`: the whole system on one machine, for a first look.

It uses its own data dir, seeds the official areas, creates an admin whose password it prints,
and serves the API. Later stages add the broker, simulated devices and scheduled programmes.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from rich.console import Console

DEMO_PROVINCE = "37"  # Ninh Bình
console = Console()


def demo_password() -> str:
    return f"LoaXa-{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"


def run_demo(*, port: int, data_dir: Path) -> None:
    import uvicorn

    from broadcast.bootstrap import build_container
    from broadcast.persistence.migrate import upgrade
    from broadcast.services.area_catalog import official_areas
    from broadcast.services.areas import seed_areas
    from broadcast.services.context import Actor
    from broadcast.services.users import create_user, set_password
    from broadcast.settings import load_settings
    from broadcast.web.app import create_app

    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("LOAXA_PUBLIC_URL", f"http://127.0.0.1:{port}")
    settings = load_settings(data_dir=data_dir)
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
    base = f"http://127.0.0.1:{port}"
    console.print(f"[green]✓[/green] Tài khoản quản trị: [bold]{username}[/bold] / mật khẩu: [bold]{password}[/bold]")
    console.print(f"  Tài liệu API: {base}/docs   Sức khỏe: {base}/readyz   Số liệu: {base}/metrics")
    console.print(f"  Lấy mã truy cập: curl -d 'username={username}&password={password}' {base}/api/v1/auth/token")
    uvicorn.run(create_app(container), host="127.0.0.1", port=port, log_level="info")
