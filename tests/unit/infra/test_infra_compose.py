"""Static checks of the deployment files: docker-compose.yml, the broker config, CI and README."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
MOSQUITTO_CONF_TARGET = "/mosquitto/config/mosquitto.conf"
GENERATED_SOURCE = "deploy/mosquitto/generated"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _services(compose: dict) -> dict[str, dict]:
    services = compose.get("services")
    assert isinstance(services, dict) and services, "docker-compose.yml has no services"
    return services


def _mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    mounts = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target = entry.split(":")[:2]
        else:
            source, target = entry.get("source", ""), entry["target"]
        mounts.append((source, target))
    return mounts


def _is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def _mosquitto_conf_mount(compose: dict) -> tuple[Path, list[tuple[str, str]]]:
    mounts = _mounts(_services(compose)["mosquitto"])
    sources = [s for s, t in mounts if t == MOSQUITTO_CONF_TARGET]
    assert sources, f"mosquitto service does not mount {MOSQUITTO_CONF_TARGET}"
    return ROOT / sources[0], mounts


def _conf_options(path: Path) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            options.setdefault(key, []).append(value.strip())
    return options


def test_infra_compose_expected_services(compose: dict) -> None:
    assert {"api", "scheduler", "mosquitto", "postgres", "simulator"} <= set(_services(compose))


def test_infra_compose_every_service_has_image_or_build(compose: dict) -> None:
    for name, service in _services(compose).items():
        assert "image" in service or "build" in service, f"service {name} has neither image nor build"


def test_infra_compose_api_and_scheduler_share_one_image(compose: dict) -> None:
    services = _services(compose)
    api, scheduler = services["api"], services["scheduler"]
    assert api.get("image") and api.get("image") == scheduler.get("image")
    assert api.get("build") == scheduler.get("build")


def test_infra_compose_commands(compose: dict) -> None:
    services = _services(compose)

    def command(name: str) -> list[str]:
        value = services[name]["command"]
        return value.split() if isinstance(value, str) else list(value)

    assert command("api")[:4] == ["loaxa", "serve", "--host", "0.0.0.0"]
    # One process runs the gateway: two would fight over the server's MQTT session and run every job twice.
    assert "--no-scheduler" in command("api")
    assert command("scheduler")[:2] == ["loaxa", "scheduler"]
    sim = command("simulator")
    assert sim[:2] == ["loaxa", "sim"]
    assert sim[sim.index("--devices") + 1] == "200"
    assert sim[sim.index("--broker") + 1].startswith("mqtt://mosquitto:")
    assert str(services["postgres"]["image"]).startswith("postgres:16")


def test_infra_compose_depends_on_existing_services(compose: dict) -> None:
    services = _services(compose)
    for name, service in services.items():
        depends = service.get("depends_on", [])
        names = list(depends) if isinstance(depends, (list, dict)) else []
        for other in names:
            assert other in services, f"{name} depends on unknown service {other}"
            assert other != name
        if isinstance(depends, dict):
            for other, spec in depends.items():
                assert spec.get("condition") in {
                    "service_started", "service_healthy", "service_completed_successfully"
                }, f"{name} -> {other}: bad condition"
                if spec.get("condition") == "service_healthy":
                    assert "healthcheck" in services[other], f"{other} waited on but has no healthcheck"


def test_infra_compose_api_and_scheduler_wait_for_their_backends(compose: dict) -> None:
    services = _services(compose)
    for name in ("api", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["mosquitto"]["condition"] == "service_healthy"


def test_infra_compose_named_volumes_declared_and_bind_sources_exist(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in _services(compose).items():
        for source, _target in _mounts(service):
            if not source:
                continue
            if _is_bind(source):
                rel = source.removeprefix("./")
                # The generated broker secrets are made at deploy time, never committed.
                if rel != GENERATED_SOURCE:
                    assert (ROOT / rel).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
    assert any(t == "/var/lib/postgresql/data" for _, t in _mounts(_services(compose)["postgres"]))


def test_infra_compose_healthchecks_on_healthz(compose: dict) -> None:
    services = _services(compose)
    assert "/healthz" in " ".join(map(str, services["api"]["healthcheck"]["test"]))
    for name in ("postgres", "mosquitto"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_infra_compose_settings_come_from_loaxa_env(compose: dict) -> None:
    for name in ("api", "scheduler"):
        env = _services(compose)[name]["environment"]
        assert env["LOAXA_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["LOAXA_DATABASE_URL"].split("@")[1].startswith("postgres:5432/")
        assert re.match(r"^mqtt://server:[^@]+@mosquitto:1884$", env["LOAXA_MQTT_URL"])  # the server's listener
        # Device changes reach the broker: the generated dir is where LOAXA_MQTT_CONFIG_DIR says, writable.
        assert (f"./{GENERATED_SOURCE}", env["LOAXA_MQTT_CONFIG_DIR"]) in _mounts(_services(compose)[name])
        assert env["LOAXA_DATA_DIR"] == "/data"
        assert "LOAXA_PUBLIC_URL" in env
        # Secrets come from .env, never written into the file.
        assert "${" in env["LOAXA_DATABASE_URL"] and "${" in env["LOAXA_MQTT_URL"]


def _listeners(path: Path) -> dict[str, dict[str, list[str]]]:
    """Options of each `listener` block, by port."""
    blocks: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.strip().partition(" ")
        if key == "listener":
            current = blocks.setdefault(value.split()[0], {})
        elif current is not None and key and not key.startswith("#"):
            current.setdefault(key, []).append(value.strip())
    return blocks


def test_infra_mosquitto_config_denies_anonymous_and_binds_client_ids(compose: dict) -> None:
    conf_path, mounts = _mosquitto_conf_mount(compose)
    assert conf_path.is_file(), f"{conf_path} referenced by compose is not in the repo"
    assert _conf_options(conf_path).get("per_listener_settings") == ["true"]
    generated = [t for s, t in mounts if s.removeprefix("./") == GENERATED_SOURCE]
    assert generated, f"mosquitto does not mount ./{GENERATED_SOURCE}"
    listeners = _listeners(conf_path)
    assert set(listeners) == {"1883", "1884"}
    for port, options in listeners.items():
        assert options.get("allow_anonymous") == ["false"], port
        for key in ("password_file", "acl_file"):
            assert len(options.get(key, [])) == 1, f"{port}: {key} missing or repeated"
            path = PurePosixPath(options[key][0])
            assert path.parent == PurePosixPath(generated[0]), f"{key} {path} not in the generated dir"
    devices, server = listeners["1883"], listeners["1884"]
    assert devices["use_username_as_clientid"] == ["true"]  # no device takes over another client's session
    assert PurePosixPath(devices["password_file"][0]).name == "passwd"
    assert PurePosixPath(server["password_file"][0]).name == "server_passwd"
    published = [str(p).split(":")[-1] for p in _services(compose)["mosquitto"].get("ports", [])]
    assert "1884" not in published, "the server account's listener must stay inside the compose network"


def test_infra_ci_runs_the_readme_test_command() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#!")
    ]
    assert "set -euo pipefail" in lines
    assert lines[-1] == "exec bash scripts/test.sh"


def test_infra_readme_starts_with_the_two_commands() -> None:
    readme = ROOT / "README.md"
    head = "\n".join(readme.read_text(encoding="utf-8").splitlines()[:40])
    assert "bash scripts/demo.sh" in head, "README's first 40 lines must show `bash scripts/demo.sh`"
    assert "bash scripts/test.sh" in head, "README's first 40 lines must show `bash scripts/test.sh`"


def test_infra_the_image_holds_every_package_and_the_front_end_it_serves() -> None:
    """Every package pip installs is copied into the image, and the web app's libraries come from the lockfile
    (npm ci) into the folder LOAXA_FRONTEND_DIR names: without them the pages render without style or script."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r'include = \[([^\]]*)\]', pyproject).group(1)
    for package in re.findall(r'"(\w+)\*"', packages):
        assert re.search(rf"^COPY {package} \./{package}$", dockerfile, re.M), package
    assert "COPY frontend/package.json frontend/package-lock.json" in dockerfile
    assert "RUN npm ci --omit=dev" in dockerfile
    target = re.search(r"LOAXA_FRONTEND_DIR=(\S+)", dockerfile).group(1)
    assert f"COPY --from=frontend /frontend/node_modules ./{PurePosixPath(target).relative_to('/app')}" in dockerfile
    assert "frontend/node_modules" in (ROOT / ".dockerignore").read_text().split()
