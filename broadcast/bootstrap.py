"""The one composition root: builds every adapter from settings. Nothing is built at import time."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from broadcast.persistence.database import make_engine, make_session_factory, ping
from broadcast.persistence.unit_of_work import SqlUnitOfWork
from broadcast.adapters.security import Argon2PasswordHasher, JwtTokenIssuer, load_or_create_secret
from broadcast.adapters.audio_processing import LibraryAudioProcessor
from broadcast.devices.broker_sync import BrokerSync, BrokerSyncError
from broadcast.protocol.signer import DocumentSigner
from broadcast.adapters.jobs import ThreadJobQueue
from broadcast.adapters.metrics import Metrics
from broadcast.services.devices import broker_accounts
from broadcast.services.sessions import LoginPolicy
from broadcast.settings import Settings

log = logging.getLogger(__name__)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


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
    _signer: DocumentSigner | None = field(default=None, repr=False)

    @property
    def signer(self) -> DocumentSigner:
        """The Ed25519 key, created in the data dir on first use (or read from LOAXA_SIGNING_KEY_FILE)."""
        if self._signer is None:
            self._signer = DocumentSigner.from_file(self.settings.effective_signing_key_file)
        return self._signer

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

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
    return Container(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
        hasher=Argon2PasswordHasher(settings.password_hash_memory_kib),
        tokens=JwtTokenIssuer(secret, timedelta(minutes=settings.token_ttl_minutes)),
        login_policy=LoginPolicy(settings.login_max_failures, settings.login_block_seconds),
        metrics=Metrics(),
        audio=LibraryAudioProcessor.for_settings(settings),
        jobs=ThreadJobQueue(workers=1, name="loaxa-audio"),
        broker_sync=(BrokerSync(settings.mqtt_config_dir, settings.mqtt_pid_file)
                     if settings.mqtt_config_dir is not None else None),
    )
