"""docs/architecture.md names a module, and often a function or class in it, for every step of the two main
flows. A move or a rename that the map does not follow fails here, so the map stays true."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MAP = ROOT / "docs" / "architecture.md"
# `path/to/module.py` optionally followed by names: `name`, `Class.method`
CELL = re.compile(r"`((?:broadcast|audio_library|device_sim|mqtt_io)/[\w/]*\.py)`((?:\s*`[\w.]+`,?)*)")


def _defined(path: Path) -> set[str]:
    """Top-level functions, classes and assignments, and methods as Class.method."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names |= {f"{node.name}.{m.name}" for m in node.body
                          if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def references() -> list[tuple[str, str | None]]:
    refs: list[tuple[str, str | None]] = []
    for match in CELL.finditer(MAP.read_text(encoding="utf-8")):
        path, names = match.group(1), re.findall(r"`([\w.]+)`", match.group(2))
        refs.append((path, None))
        refs += [(path, name) for name in names]
    return refs


def test_the_map_names_both_flows_and_enough_modules() -> None:
    text = MAP.read_text(encoding="utf-8")
    assert "where a schedule becomes a device document" in text
    assert "where an ack is stored" in text
    assert len({path for path, _ in references()}) >= 20


def test_every_module_and_name_on_the_map_exists() -> None:
    missing = []
    for path, name in references():
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name is not None and name not in _defined(file):
            missing.append(f"{path}: {name}")
    assert not missing, f"docs/architecture.md names what is not there: {missing}"
