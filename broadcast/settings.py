"""All runtime settings, read once from the environment (prefix LOAXA_)."""
from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broadcast.adapters.fetch_policy import FetchPolicy
from broadcast.adapters.trusted_proxies import TrustedProxies
from broadcast.domain.devices import SERVER_NAMESPACE, is_server_name

ENV_PREFIX = "LOAXA_"


class SettingsError(Exception):
    """Start-up must stop: the message names the offending variable."""


class MqttEndpoint:
    """LOAXA_MQTT_URL: one broker URL, or several separated by commas (the nodes of a cluster, tried in turn
    when the current one is lost; the account is the first URL's, and all use the same scheme)."""

    def __init__(self, url: str):
        urls = [u.strip() for u in url.split(",") if u.strip()]
        parts = urlsplit(urls[0])
        self.url = url
        self.tls = parts.scheme == "mqtts"
        default_port = 8883 if self.tls else 1883
        self.addresses = tuple((u.hostname or "localhost", u.port or default_port) for u in map(urlsplit, urls))
        self.host, self.port = self.addresses[0]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    data_dir: Path = Path("./var")
    database_url: str = ""  # empty: SQLite file in data_dir
    mqtt_url: str = "mqtt://localhost:1884"  # the server accounts' listener (`loaxa mqtt config --server-port`)
    mqtt_ca_file: Path | None = None  # CA certificates for mqtts:// (default: the system's)
    # Where `loaxa mqtt config` wrote the broker's files: after each committed device change the server rewrites
    # the devices' password file there and has mosquitto reload it (SIGHUP to the pid in mqtt_pid_file, or a
    # watcher of the file: deploy/). Empty: the operator reruns `loaxa mqtt config` and reloads.
    mqtt_config_dir: Path | None = None
    mqtt_pid_file: Path | None = None
    public_url: str = "http://localhost:8000"
    timezone: str = "Asia/Ho_Chi_Minh"
    topic_prefix: str = "loaxa/v1"
    # Several nodes (docs/deployment.md): the server's device-message subscriptions join this MQTT shared
    # subscription group ($share/<group>/...), so each status or ack reaches one node of the group; empty (the
    # default): plain subscriptions, every node handles every message, idempotently. Off by default because
    # Mosquitto 2.0 does not restore shared subscriptions after a restart: acks sent before the server resubscribes
    # would reach nobody (tests/integration/devices/test_gateway_mqtt.py).
    mqtt_shared_group: str = ""
    # `loaxa serve --no-scheduler` nodes take their share of device messages too (not only the leading scheduler).
    # Off by default: an API node's clean session loses what it received and had not stored when it is killed.
    api_inbox: bool = False

    secret_key: str = ""  # signs access tokens; empty: generated once into data_dir
    token_ttl_minutes: int = Field(default=60, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1)
    login_block_seconds: int = Field(default=60, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8192)  # argon2id memory cost
    # Reverse proxies whose X-Forwarded-For names the client (e.g. "127.0.0.1,10.0.0.0/24"); empty: the socket peer.
    trusted_proxies: str = ""
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)  # JSON and form bodies
    # Larger documents: TTS text, schedules (device lists), emergencies, CAP XML, pushed bulletins.
    max_document_bytes: int = Field(default=1024 * 1024, ge=1024)
    signing_key_file: Path | None = None  # Ed25519 private key (PEM); default data_dir/signing_key.pem
    # The web app's front-end libraries (`npm ci` in frontend/); default: frontend/node_modules of the checkout.
    frontend_dir: Path | None = None

    audio_max_bytes: int = Field(default=500 * 1024 * 1024, ge=1)
    audio_max_duration_s: int = Field(default=4 * 3600, ge=1)
    audio_min_duration_s: float = Field(default=1.0, ge=0)
    audio_target_lufs: float = Field(default=-16.0, ge=-40, le=-5)
    audio_true_peak_dbtp: float = Field(default=-1.5, ge=-9, le=0)
    audio_sample_rate: int = Field(default=44100, ge=8000, le=48000)
    # Every emergency message is said this many times after the attention chime (docs/emergencies.md).
    emergency_repeat: int = Field(default=2, ge=1, le=5)
    # Live broadcast (docs/live.md): the private Icecast the server feeds, the address devices use for it, and
    # how long a silent link is tolerated before the session is ended as dropped.
    icecast_host: str = "127.0.0.1"
    icecast_port: int = Field(default=8001, ge=1, le=65535)
    icecast_max_listeners: int = Field(default=5000, ge=1)  # per mount
    icecast_source_password: str = ""  # empty: generated once into data_dir/icecast/secrets.json
    stream_public_url: str = ""  # e.g. http://radio.example.vn:8001; empty: http://{icecast_host}:{icecast_port}
    live_idle_timeout_s: float = Field(default=5.0, gt=0, le=120)
    live_max_minutes: int = Field(default=120, ge=1, le=24 * 60)

    horizon_days: int = Field(default=7, ge=1, le=31)
    retention_days: int = Field(default=730, ge=30)
    delivery_timeout_s: int = Field(default=120, ge=5)
    # The scheduler's leader lease (docs/deployment.md, several nodes): held this long, renewed this often.
    lease_ttl_s: float = Field(default=10.0, ge=2, le=300)
    lease_renew_s: float = Field(default=3.0, gt=0, le=100)
    # Device health history (docs/fleet-health.md): one row per device per bucket, kept this many days.
    health_bucket_minutes: int = Field(default=5, ge=1, le=60)
    health_retention_days: int = Field(default=30, ge=1, le=730)
    # Alerts (docs/fleet-health.md): every rule evaluated this often; thresholds per area through the API.
    alert_evaluate_s: int = Field(default=10, ge=5, le=3600)
    # The country's thresholds under every area's, as JSON ('{"offline_minutes": 30}'; names and limits as in
    # GET /api/v1/alert-thresholds/{area}); empty: the built-in defaults.
    alert_thresholds: str = ""

    @field_validator("alert_thresholds")
    @classmethod
    def _alert_thresholds(cls, value: str) -> str:
        from broadcast.domain.alerts import parse_thresholds_setting

        parse_thresholds_setting(value)  # raises ValueError naming the bad threshold
        return value

    # Notifications: e-mail through SMTP (empty: none; smtp://, smtp+starttls:// or smtps://), webhooks always.
    smtp_url: str = ""
    smtp_from: str = "LoaXa <loaxa@localhost>"
    notify_every_s: int = Field(default=10, ge=1, le=3600)

    # Bridge to the central source information system (docs/bridge.md); disabled while the base URL is empty.
    bridge_base_url: str = ""  # e.g. https://lgsp.example.gov.vn/ttnguon/api/v1 (an LGSP gateway prefix is fine)
    bridge_token: str = ""  # static bearer token, if the gateway issues one
    bridge_client_id: str = ""  # OAuth2 client credentials (with bridge_token_url) or HTTP Basic
    bridge_client_secret: str = ""
    bridge_token_url: str = ""
    bridge_hmac_secret: str = ""  # shared secret of pushed bulletins; empty: push refused
    bridge_system_id: str = "loaxa"  # how the central side knows this province's system
    bridge_timeout_s: float = Field(default=10.0, gt=0, le=300)
    bridge_pull_interval_s: int = Field(default=60, ge=5)
    bridge_send_interval_s: int = Field(default=10, ge=1)
    bridge_retry_base_s: int = Field(default=30, ge=1)
    bridge_retry_max_s: int = Field(default=3600, ge=1)
    bridge_media_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    # Relay channels (services/relay_channels.py): how often each station's stream is probed, and how long a probe
    # may wait for it.
    relay_probe_interval_s: int = Field(default=300, ge=10)
    relay_probe_timeout_s: float = Field(default=8.0, gt=0, le=60)
    # Where CAP resources and bulletin audio may be fetched from besides public addresses (broadcast/fetch_policy).
    fetch_allow: str = ""  # e.g. "10.20.0.0/16,lgsp.tinh.gov.vn"
    # The device map's tiles, an URL template such as https://tile.example.vn/{z}/{x}/{y}.png (the pages' CSP then
    # admits that host's images). Empty: no tiles, the markers show on a plain background (closed networks).
    map_tile_url: str = ""
    map_tile_attribution: str = Field(default="", max_length=300)  # e.g. "© OpenStreetMap"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("phải là URL sqlite:/// hoặc postgresql+psycopg:// (must be sqlite or postgresql)")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("khóa bí mật phải dài ít nhất 32 ký tự (secret must be at least 32 characters)")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        urls = [u.strip() for u in value.split(",")]
        if len({urlsplit(u).scheme for u in urls}) > 1:
            raise ValueError("mọi địa chỉ phải cùng giao thức mqtt:// hoặc mqtts:// (all URLs must share a scheme)")
        for url in urls[1:]:
            cls._mqtt_url(url)  # every node's URL is checked like the first
        parts = urlsplit(urls[0])
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("phải có dạng mqtt://user:pass@host:port (must look like mqtt://user:pass@host:port)")
        try:
            _ = parts.port  # parsed on access: raises on a port that is not a number in range
        except ValueError as exc:
            raise ValueError(f"cổng không hợp lệ (invalid port): {exc}") from None
        if parts.username and not is_server_name(unquote(parts.username)):
            raise ValueError(f"tài khoản máy chủ phải là “server” hoặc bắt đầu bằng “{SERVER_NAMESPACE}”, là tên "
                             "không thiết bị nào được dùng (the server account must be 'server' or 'loaxa-...')")
        return value

    @field_validator("mqtt_ca_file")
    @classmethod
    def _mqtt_ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"không có tệp chứng chỉ (no such file): {value}")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("phải là URL http(s):// (must be an http(s) URL)")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"múi giờ không tồn tại (unknown time zone): {value}") from None
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        if not value or any(c in value for c in "#+") or value.startswith("/") or value.endswith("/"):
            raise ValueError("tiền tố topic không hợp lệ (invalid topic prefix)")
        return value

    @field_validator("mqtt_shared_group")
    @classmethod
    def _mqtt_shared_group(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", value):
            raise ValueError("tên nhóm chỉ gồm chữ, số, _ và -, tối đa 40 ký tự (letters, digits, _ and -, at most "
                             "40)")
        return value

    @field_validator("bridge_base_url", "bridge_token_url")
    @classmethod
    def _bridge_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("phải là URL http(s):// (must be an http(s) URL)")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname):
            raise ValueError("phải có dạng smtp://máy:cổng, smtp+starttls://... hoặc smtps://...")
        return value

    @field_validator("fetch_allow")
    @classmethod
    def _fetch_allow(cls, value: str) -> str:
        FetchPolicy.parse(value)
        return value

    @field_validator("map_tile_url")
    @classmethod
    def _map_tile_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not re.fullmatch(r"[A-Za-z0-9.{}:-]+", parts.netloc)
                      or " " in value or ";" in value or not all(k in value for k in ("{z}", "{x}", "{y}"))):
            raise ValueError("phải là URL http(s):// có {z}, {x} và {y} (must be an http(s) URL template with "
                             "{z}, {x} and {y})")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        TrustedProxies.parse(value)
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'loaxa.db').resolve()}"

    @cached_property
    def mqtt(self) -> MqttEndpoint:
        return MqttEndpoint(self.mqtt_url)

    @cached_property
    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy.parse(self.fetch_allow)

    @cached_property
    def proxies(self) -> TrustedProxies:
        return TrustedProxies.parse(self.trusted_proxies)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def map_tile_origin(self) -> str:
        """scheme://host[:port] of the tiles for the pages' CSP ({s} subdomains as *); empty without tiles."""
        parts = urlsplit(self.map_tile_url)
        return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}" if self.map_tile_url else ""

    @property
    def bridge_enabled(self) -> bool:
        return bool(self.bridge_base_url)

    @property
    def effective_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "signing_key.pem"


def load_settings(**overrides: object) -> Settings:
    """Read settings; any invalid value becomes one SettingsError naming each variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in error["loc"]).upper()
            lines.append(f"{name}: {error['msg']}")
        raise SettingsError("Cấu hình không hợp lệ (invalid settings):\n  " + "\n  ".join(lines)) from None
