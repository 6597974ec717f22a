"""`loaxa mqtt config --engine nats`: the nats-server cluster's files (called from broadcast/cli.py)."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

CLIENT_PORT, CLUSTER_PORT, HTTP_PORT = 4222, 6222, 8222


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]Lỗi:[/red] {message}", highlight=False)
    return typer.Exit(code)


def write_nats_cluster_config(outdir: Path, *, engine: str, hosts: str, mqtt_port: int, secrets_csv: Path | None,
                              store_dir: Path | None) -> None:
    """Check everything first, then write: bad input changes no file."""
    from broadcast.cli import container_for_cli
    from broadcast.protocol.nats_config import BcryptMissing, NatsNode, secrets_for_nats, write_nats_config
    from broadcast.services.devices import broker_accounts

    if engine != "nats":
        raise _fail(f"--engine phải là mosquitto hoặc nats, không phải {engine!r}.")
    names = [h.strip() for h in hosts.split(",") if h.strip()]
    if len(names) < 3 or len(set(names)) != len(names):
        raise _fail("--nats-hosts cần ít nhất 3 địa chỉ khác nhau (JetStream cần đa số nút còn sống).")
    if secrets_csv is None:
        raise _fail("--device-secrets là bắt buộc với nats: tệp CSV mã_thiết_bị,mật_khẩu.")
    store = (store_dir or Path("/var/lib/nats")).resolve()
    nodes = [NatsNode(f"n{i + 1}", host, CLIENT_PORT, CLUSTER_PORT, mqtt_port, store / f"n{i + 1}",
                      http_port=HTTP_PORT) for i, host in enumerate(names)]
    with container_for_cli() as container:
        endpoint = container.settings.mqtt
        if not endpoint.username or not endpoint.password:
            raise _fail("LOAXA_MQTT_URL phải có tài khoản máy chủ: mqtt://user:pass@host:port")
        devices, problems = secrets_for_nats(secrets_csv.read_text(encoding="utf-8"), broker_accounts(container.uow()))
        try:
            paths = write_nats_config(outdir, container.settings.topic_prefix, endpoint.username, endpoint.password,
                                      nodes, devices=devices)
        except BcryptMissing as exc:
            raise _fail(str(exc)) from None
        except OSError as exc:
            raise _fail(f"Không ghi được cấu hình vào {outdir}: {exc.strerror or exc}.", 1) from None
    for problem in problems:
        err_console.print(f"[yellow]Cảnh báo:[/yellow] {problem}", highlight=False)
    console.print(f"Đã ghi cấu hình NATS cho {len(devices)} thiết bị, {len(paths)} nút: "
                  + ", ".join(str(p) for p in paths))
    console.print("Chép accounts.conf và tệp của từng nút sang máy đó; nạp lại tài khoản: nats-server --signal "
                  "reload (docs/nats.md). Máy chủ: LOAXA_MQTT_URL liệt kê mọi nút, cách nhau bằng dấu phẩy.")
