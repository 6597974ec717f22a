"""scripts/bootstrap.sh installs the front-end libraries with `npm ci` only when they are missing or the lockfile
changed, and the lockfile pins every library the pages and tests use."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from broadcast.web.assets import VENDOR

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = f"""#!/usr/bin/env bash
# Stands in for .venv/bin/python: pip is a no-op here (tests/integration/scripts covers it), the rest runs for real.
if [[ "$1" == "-m" && "$2" == "pip" ]]; then
    touch "$(dirname "$0")/loaxa" && chmod +x "$(dirname "$0")/loaxa"
    exit 0
fi
exec {sys.executable} "$@"
"""
FAKE_NPM = """#!/usr/bin/env bash
# Stands in for npm: records the call and leaves a node_modules behind, as `npm ci` does.
echo "npm $* in $PWD" >>"$NPM_LOG"
rm -rf node_modules && mkdir node_modules
"""


def test_bootstrap_runs_npm_ci_only_when_needed(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = []\n')
    frontend = tmp_path / "frontend"
    frontend.mkdir()
    shutil.copy(ROOT / "frontend" / "package.json", frontend)
    shutil.copy(ROOT / "frontend" / "package-lock.json", frontend)
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(FAKE_PYTHON)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "npm").write_text(FAKE_NPM)
    for script in (venv_bin / "python", tools / "npm"):
        script.chmod(0o755)
    log = tmp_path / "npm.log"
    env = {**os.environ, "CI": "true", "NPM_LOG": str(log), "PATH": f"{tools}:{os.environ['PATH']}"}

    def calls() -> int:
        result = subprocess.run(["bash", str(tmp_path / "scripts" / "bootstrap.sh")], cwd=tmp_path, env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        return len(log.read_text().splitlines()) if log.exists() else 0

    assert calls() == 1
    assert "npm ci --ignore-scripts" in log.read_text() and str(frontend) in log.read_text()
    assert calls() == 1  # unchanged: skipped
    lock = json.loads((frontend / "package-lock.json").read_text())
    lock["packages"][""]["version"] = "0.1.1"
    (frontend / "package-lock.json").write_text(json.dumps(lock))
    assert calls() == 2  # the lockfile changed
    shutil.rmtree(frontend / "node_modules")
    assert calls() == 3  # node_modules gone


def test_the_lockfile_pins_every_library_exactly() -> None:
    manifest = json.loads((ROOT / "frontend" / "package.json").read_text())
    lock = json.loads((ROOT / "frontend" / "package-lock.json").read_text())
    wanted = {**manifest["dependencies"], **manifest["devDependencies"]}
    assert {"htmx.org", "leaflet", "@fontsource/be-vietnam-pro", "swagger-ui-dist", "axe-core"} <= set(wanted)
    for name, version in wanted.items():
        assert version[0].isdigit(), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    served = {relative.split("/")[0] if not relative.startswith("@") else "/".join(relative.split("/")[:2])
              for relative in VENDOR.values()}
    assert served <= set(manifest["dependencies"])  # axe-core is for the tests and never served
