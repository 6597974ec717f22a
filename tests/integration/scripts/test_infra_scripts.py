"""The README's commands: scripts parse, bootstrap is idempotent, test.sh never passes on nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = [ROOT / "scripts" / name for name in ("bootstrap.sh", "test.sh", "demo.sh")] + [ROOT / ".ci" / "run"]


def _bash(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", *map(str, args)], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_infra_script_parses(script: Path) -> None:
    result = _bash("-n", script)
    assert result.returncode == 0, result.stderr


def test_infra_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck is not None, "shellcheck is missing: scripts/bootstrap.sh installs it"
    result = subprocess.run([shellcheck, "-x", *map(str, SCRIPTS)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for .venv/bin/python: records pip installs, runs everything else for real.
if [[ "$1" == "-m" && "$2" == "pip" ]]; then
    echo "pip $*" >>"$(dirname "$0")/../pip.log"
    touch "$(dirname "$0")/loaxa" && chmod +x "$(dirname "$0")/loaxa"
    exit 0
fi
exec {real} "$@"
"""


def test_infra_bootstrap_reinstalls_only_when_pyproject_changes(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = []\n')
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(FAKE_PYTHON.format(real=sys.executable))
    (bin_dir / "python").chmod(0o755)
    pip_log = tmp_path / ".venv" / "pip.log"
    env = {**os.environ, "CI": "true"}

    def run() -> int:
        result = _bash(tmp_path / "scripts" / "bootstrap.sh", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        return len(pip_log.read_text().splitlines()) if pip_log.exists() else 0

    assert run() == 1  # first run installs
    assert "-e .[test]" in pip_log.read_text()
    assert run() == 1  # unchanged: skipped
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["y==1"]\n')
    assert run() == 2  # changed: reinstalled
    assert run() == 2
    (bin_dir / "loaxa").unlink()
    assert run() == 3  # console script gone: reinstalled


def test_infra_test_sh_fails_when_nothing_is_collected() -> None:
    result = _bash("scripts/test.sh", "tests/unit/infra/test_infra_pg_missing.py", "--noconftest",
                   "-k", "no_such_test_zzz")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "exit 5" in result.stderr


def test_infra_test_sh_passes_args_and_reports_failures(tmp_path: Path) -> None:
    passing = _bash("scripts/test.sh", "tests/unit/infra/test_infra_pg_missing.py", "--noconftest", "-q")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "4 passed" in passing.stdout
    failing_test = tmp_path / "test_infra_always_fails.py"
    failing_test.write_text("def test_fails():\n    assert 1 == 2\n")
    failing = _bash("scripts/test.sh", failing_test, "-q")
    assert failing.returncode == 1
    assert "1 failed" in failing.stdout
    assert "exit 5" not in failing.stderr
