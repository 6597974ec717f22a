"""The one composition root: builds every adapter from settings. Nothing is built at import time."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from broadcast.adapters.audio_processing import LibraryAudioProcessor
from broadcast.adapters.broker_sync import BrokerSync, BrokerSyncError
from broadcast.adapters.http_media import BULLETIN_AUDIO, CAP_RESOURCE, HttpMediaFetcher
from broadcast.adapters.jobs import ThreadJobQueue
from broadcast.adapters.metrics import Metrics
from broadcast.adapters.security import Argon2PasswordHasher, JwtTokenIssuer, load_or_create_secret
from broadcast.devices.gateway import MqttGateway
from broadcast.devices.ports import DeviceInbox
from broadcast.persistence.database import make_engine, make_session_factory, ping
from broadcast.persistence.unit_of_work import SqlUnitOfWork
from broadcast.protocol.signer import DocumentSigner
from broadcast.services.bridge.bulletins import BridgeTools
from broadcast.services.devices import broker_accounts
from broadcast.services.emergencies import EmergencyTools
from broadcast.services.fleet_health import fleet_figures
from broadcast.services.notifications import Notifier
from broadcast.services.pronunciations import pronunciation_overrides
from broadcast.services.reports.uptime_cache import UptimeCache
from broadcast.services.sessions import LoginPolicy
from broadcast.settings import Settings

log = logging.getLogger(__name__)

CAP_RESOURCE_MAX_BYTES = 100 * 1024 * 1024
CAP_FETCH_TIMEOUT_S = 20.0


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


class WakeUp:
    """Port: ask a timer job to run now (the delivery flush, so an emergency leaves at once; the compiler, after an
    approval). The process running the timer (embedded or stand-alone runtime) registers it; in a process without
    one this does nothing and the scheduler's own timer picks the work up within seconds."""

    def __init__(self) -> None:
        self._callback: Callable[[], None] | None = None

    def register(self, callback: Callable[[], None] | None) -> None:
        self._callback = callback

    def __call__(self) -> None:
        if self._callback is not None:
            self._callback()


@dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: SystemClock
    hasher: Argon2PasswordHasher
    tokens: JwtTokenIssuer
    login_policy: LoginPolicy
    metrics: Metrics
    audio: LibraryAudioProcessor
    jobs: ThreadJobQueue
    broker_sync: BrokerSync | None = None  # when LOAXA_MQTT_CONFIG_DIR names the broker's files
    wake_delivery: WakeUp = field(default_factory=WakeUp)
    wake_compile: WakeUp = field(default_factory=WakeUp)
    report_uptime: UptimeCache = field(default_factory=UptimeCache)  # today's device-time, a minute per area
    _signer: DocumentSigner | None = field(default=None, repr=False)

    @property
    def signer(self) -> DocumentSigner:
        """The Ed25519 key, created in the data dir on first use (or read from LOAXA_SIGNING_KEY_FILE)."""
        if self._signer is None:
            self._signer = DocumentSigner.from_file(self.settings.effective_signing_key_file)
        return self._signer

    @property
    def notifier(self) -> Notifier:
        return Notifier(self.settings.tz, self.settings.public_url.rstrip("/"))

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

    def emergency_tools(self, work_dir: Path | None = None) -> EmergencyTools:
        return EmergencyTools(clock=self.clock, signer=self.signer, processor=self.audio,
                              public_url=self.settings.public_url,
                              work_dir=work_dir or self.settings.data_dir / "emergency-work",
                              repeat=self.settings.emergency_repeat)

    def cap_fetcher(self) -> HttpMediaFetcher:
        """Downloads a CAP alert's audio resource, within the fetch allow-list."""
        return HttpMediaFetcher(self.settings.data_dir / "emergency-work",
                                min(CAP_RESOURCE_MAX_BYTES, self.settings.audio_max_bytes), CAP_RESOURCE,
                                policy=self.settings.fetch_policy, timeout_s=CAP_FETCH_TIMEOUT_S, prefix="cap-")

    def bridge_tools(self) -> BridgeTools:
        settings = self.settings
        work_dir = settings.data_dir / "bridge-work"
        return BridgeTools(
            emergency=self.emergency_tools(work_dir),
            fetch=HttpMediaFetcher(work_dir, min(settings.bridge_media_max_bytes, settings.audio_max_bytes),
                                   BULLETIN_AUDIO, policy=settings.fetch_policy,
                                   timeout_s=max(settings.bridge_timeout_s, 30.0), prefix="bulletin-"),
            tz=settings.timezone, system_id=settings.bridge_system_id)

    def gateway(self, inbox: DeviceInbox, *, name: str = "main") -> MqttGateway:
        """The server's MQTT client (paho), delivering validated device messages to `inbox`."""
        return MqttGateway.from_settings(self.settings, inbox=inbox, metrics=self.metrics, name=name)

    def sync_broker(self, *, strict: bool = False) -> str | None:
        """After a committed device change: the broker admits exactly the registry's enabled devices, with their
        current secrets. A failure is logged and its message returned (the change itself stands), or raised
        when `strict` (start-up)."""
        if self.broker_sync is None:
            return None
        try:
            self.broker_sync.apply(lambda: broker_accounts(self.uow()))
        except BrokerSyncError as exc:
            if strict:
                raise
            log.error("%s", exc)
            return str(exc)
        return None

    def ping_database(self) -> None:
        ping(self.engine)

    @property
    def spool_dir(self):
        """Uploads waiting for their render (kept across restarts so nothing accepted is lost)."""
        return self.settings.data_dir / "spool"

    def close(self) -> None:
        self.jobs.shutdown()
        self.engine.dispose()


def build_container(settings: Settings, *, clock: SystemClock | None = None) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = make_engine(settings.effective_database_url)
    secret = settings.secret_key or load_or_create_secret(settings.data_dir / "token_secret")
    session_factory = make_session_factory(engine)
    clock = clock or SystemClock()
    metrics = Metrics()
    # Fleet figures per commune are read from the database when Prometheus scrapes, not kept in the process:
    # any node answers the same, and nothing drifts.
    metrics.watch_fleet(lambda: fleet_figures(lambda: SqlUnitOfWork(session_factory), clock, settings.tz))
    return Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        clock=clock,
        hasher=Argon2PasswordHasher(settings.password_hash_memory_kib),
        tokens=JwtTokenIssuer(secret, timedelta(minutes=settings.token_ttl_minutes)),
        login_policy=LoginPolicy(settings.login_max_failures, settings.login_block_seconds),
        metrics=metrics,
        audio=LibraryAudioProcessor.for_settings(
            settings, pronunciations=lambda: pronunciation_overrides(SqlUnitOfWork(session_factory))),
        jobs=ThreadJobQueue(workers=1, name="loaxa-audio"),
        broker_sync=(BrokerSync(settings.mqtt_config_dir, settings.mqtt_pid_file)
                     if settings.mqtt_config_dir is not None else None),
    )
