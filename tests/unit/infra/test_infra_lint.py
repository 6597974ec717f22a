"""ruff and mypy, configured in pyproject.toml, run with the suite: a lint or type error fails the test command."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
STRICT_PACKAGES = {"broadcast.domain.*", "broadcast.protocol.*", "mqtt_io.*"}
# What `--strict` turns on, flag by flag (mypy 2.4 `--help`); the per-module spelling of each.
STRICT_FLAGS = {"disallow_any_generics", "disallow_subclassing_any", "disallow_untyped_calls", "disallow_untyped_defs",
                "disallow_incomplete_defs", "check_untyped_defs", "disallow_untyped_decorators", "warn_return_any",
                "strict_equality", "extra_checks"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # The venv's own tools (pinned in the test extras), from the repository root so pyproject.toml applies.
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_infra_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "--no-fix", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_infra_mypy_finds_nothing() -> None:
    # Files and options come from [tool.mypy]; the incremental cache (.mypy_cache, ignored by git) keeps reruns short.
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout, result.stdout


def test_infra_mypy_is_strict_for_the_pure_packages() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert set(config["files"]) == {"broadcast", "audio_library", "device_sim", "mqtt_io"}
    strict = [o for o in config.get("overrides", []) if STRICT_PACKAGES <= set(o["module"])]
    assert strict, "no [[tool.mypy.overrides]] covers the domain, protocol and mqtt_io packages"
    missing = {flag for flag in STRICT_FLAGS if strict[0].get(flag) is not True}
    assert not missing, f"strict flags missing for the pure packages: {sorted(missing)}"
    assert strict[0].get("implicit_reexport") is False
