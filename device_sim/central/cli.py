"""`loaxa central-sim`: run the stand-in central server (the lead registers this function on the main CLI)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from device_sim.central.app import CentralState, create_central_app


def central_sim(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng lắng nghe")] = 8900,
    token: Annotated[str, typer.Option(help="Mã truy cập (Bearer) bắt buộc; để trống: không kiểm tra")] = "",
    bulletins: Annotated[Path | None, typer.Option(help="Tệp JSON: danh sách bản tin nạp sẵn")] = None,
    mode: Annotated[str, typer.Option(help="Chế độ ban đầu: ok, fail, slow, nonsense")] = "ok",
    delay: Annotated[float, typer.Option(help="Độ trễ (giây) của chế độ slow")] = 0.0,
) -> None:
    """Máy chủ trung ương giả lập: phát bản tin theo con trỏ, ghi nhận biên nhận và báo cáo (khử trùng theo khóa)."""
    import uvicorn

    state = CentralState(token=token)
    try:
        state.set_mode(mode, delay)
    except ValueError:
        raise typer.BadParameter("chế độ phải là ok, fail, slow hoặc nonsense") from None
    if bulletins is not None:
        items = json.loads(bulletins.read_text(encoding="utf-8"))
        state.add_bulletins(items if isinstance(items, list) else [items])
    typer.echo(f"Máy chủ trung ương giả lập: http://{host}:{port}/api/v1 (quản trị: /admin, tài liệu: /docs)")
    uvicorn.run(create_central_app(state), host=host, port=port, log_level="warning")
