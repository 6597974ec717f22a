"""What every live-broadcast test starts from: registered devices in Hoàn Kiếm, accounts, a private mosquitto for
them, and a container wired to the private icecast2 (tests/support/icecast.py), served on a free port."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadcast.bootstrap import Container
from broadcast.services.context import Actor
from broadcast.services.devices import DeviceSpec, register_device
from broadcast.services.policies import set_policy
from tests.support.app import HOAN_KIEM, add_user, make_container
from tests.support.audio_fixtures import require_binary
from tests.support.broker import Broker, free_port, start_broker


@dataclass
class LiveSetup:
    container: Container
    broker: Broker
    secrets: dict[str, str]  # device id -> broker password
    port: int  # where the API is to be served (the container's public URL)


def live_setup(tmp_path: Path, database_url: str, icecast: Any, devices: list[str], users: dict[str, str],
               **settings: Any) -> LiveSetup:
    """`users`: username -> role in Hoàn Kiếm; `settings`: more LOAXA_ settings for the container."""
    require_binary("ffmpeg")
    require_binary("espeak-ng")
    bootstrap = make_container(tmp_path, database_url)
    secrets = {d: register_device(bootstrap.uow(), bootstrap.clock, Actor(None),
                                  DeviceSpec(id=d, name=f"Cụm loa {d}", area_code=HOAN_KIEM)).mqtt_password
               for d in devices}
    for username, role in users.items():
        add_user(bootstrap, username, role, HOAN_KIEM)
    allow_all_day(bootstrap, HOAN_KIEM)
    bootstrap.close()
    broker = start_broker(tmp_path / "broker", devices=list(secrets.items()))
    port = free_port()
    container = make_container(
        tmp_path, database_url, public_url=f"http://127.0.0.1:{port}", mqtt_url=broker.server_url,
        icecast_host=icecast.config.host, icecast_port=icecast.config.port,
        icecast_source_password=icecast.config.secrets.source_password, **settings)
    return LiveSetup(container, broker, secrets, port)


def allow_all_day(container: Container, area_code: str) -> None:
    """Live tests run at any hour: the default window (05:00-21:00 Vietnam time) refused them from 14:00 UTC on.
    Tests of the window set their own."""
    set_policy(container.uow(), container.clock, Actor(None), area_code, windows=["00:00-24:00"],
               max_minutes_per_day=None, weekdays=None)
