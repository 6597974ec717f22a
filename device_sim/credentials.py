"""Device credentials CSV: `device_id,password[,zones]`, zones separated by ';'.

A header row (`device_id,password,zones`) is optional. This is the file the
registry exports for a test fleet; a vendor gets the same values per device.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from broadcast.protocol import DEVICE_ID_RE, ZONE_ID_RE
from device_sim.device import DeviceSpec


class CredentialsError(ValueError):
    pass


def parse_credentials(text: str) -> list[DeviceSpec]:
    specs: list[DeviceSpec] = []
    seen: set[str] = set()
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if lineno == 1 and row[0].strip().lower() == "device_id":
            continue
        if len(row) < 2:
            raise CredentialsError(f"dòng {lineno}: cần ít nhất hai cột device_id,password")
        device_id, password = row[0].strip(), row[1].strip()
        if not DEVICE_ID_RE.match(device_id):
            raise CredentialsError(f"dòng {lineno}: mã thiết bị không hợp lệ: {device_id!r}")
        if device_id in seen:
            raise CredentialsError(f"dòng {lineno}: mã thiết bị bị lặp: {device_id!r}")
        seen.add(device_id)
        zones = tuple(z.strip() for z in row[2].split(";") if z.strip()) if len(row) > 2 else ()
        for z in zones:
            if not ZONE_ID_RE.match(z):
                raise CredentialsError(f"dòng {lineno}: mã vùng không hợp lệ: {z!r}")
        specs.append(DeviceSpec(device_id=device_id, password=password, zones=zones))
    return specs


def load_credentials(path: Path) -> list[DeviceSpec]:
    return parse_credentials(Path(path).read_text(encoding="utf-8-sig"))


def dump_credentials(specs: list[DeviceSpec]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["device_id", "password", "zones"])
    for s in specs:
        w.writerow([s.device_id, s.password, ";".join(s.zones)])
    return out.getvalue()
