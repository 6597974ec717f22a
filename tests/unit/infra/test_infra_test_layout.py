"""Test folders are named after what they test: a package or module of the project (or scripts/), so a newcomer
finds a module's tests without searching. tests/unit/infra holds the checks of the project as a whole."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TOP = ("broadcast", "audio_library", "device_sim", "mqtt_io")
WHOLE_PROJECT = {"infra"}


def package_names() -> set[str]:
    """Every package and module name of the project, at any depth, and the scripts folder."""
    names = {"scripts", *TOP}
    for top in TOP:
        for path in (ROOT / top).rglob("*.py"):
            relative = path.relative_to(ROOT / top)
            names |= set(relative.parent.parts) | ({path.stem} - {"__init__", "__main__"})
    return names


def test_every_unit_and_integration_folder_is_named_after_a_package_or_module():
    known = package_names()
    folders = [p for kind in ("unit", "integration") for p in sorted((ROOT / "tests" / kind).iterdir())
               if p.is_dir() and p.name != "__pycache__"]
    assert len(folders) >= 15
    strangers = [str(p.relative_to(ROOT)) for p in folders if p.name not in known | WHOLE_PROJECT]
    assert strangers == []
