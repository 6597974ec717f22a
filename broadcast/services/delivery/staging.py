"""A compiled timeline becomes a device's signed schedule document (a new version only when what it would play
changed), written to the outbox in the caller's transaction."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from broadcast import protocol
from broadcast.domain.delivery import Publication
from broadcast.domain.devices import Device
from broadcast.services.ports import Clock, DeliveryUnitOfWork, Signer


def document_fingerprint(zones: Sequence[str], items: Sequence[Mapping[str, Any]], status_interval_s: int) -> str:
    """What the device would play: equal fingerprints mean no new version is needed."""
    canonical = json.dumps({"zones": list(zones), "items": list(items), "status_interval_s": status_interval_s},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _still_current(document: Mapping[str, Any], zones: Sequence[str], items: Sequence[Mapping[str, Any]],
                   status_interval_s: int, now: datetime, horizon_end: datetime, refresh: timedelta) -> bool:
    """The published document already says what is still to come, and its horizon reaches far enough.

    Items that have ended drop out of a fresh compilation; that alone is no reason for a new version.
    """
    def upcoming(entries):
        return [dict(i) for i in entries if protocol.parse_time(i["end"], "end") > now]

    return (list(document.get("zones", [])) == list(zones)
            and document.get("status_interval_s") == status_interval_s
            and upcoming(document.get("items", [])) == upcoming(items)
            and protocol.parse_time(document["horizon_end"], "horizon_end") >= horizon_end - refresh)


def stage_schedule(uow: DeliveryUnitOfWork, clock: Clock, signer: Signer, device: Device,
                   items: Sequence[protocol.ScheduleItem], *, horizon_end: datetime, status_interval_s: int = 60,
                   refresh: timedelta = timedelta(days=1)) -> Publication | None:
    """Write a new signed version into the outbox when the device's timeline changed; None when it did not.

    A new version also goes out when the published horizon falls more than `refresh` short (once a day).
    Runs inside the caller's unit of work (no commit here), so the change and its publication commit together.
    """
    zones = device.all_zones()
    now = clock.now()
    latest = uow.delivery.latest_publication(device.id)
    if latest is not None and _still_current(latest.document, zones, items, status_interval_s, now, horizon_end,
                                             refresh):
        return None
    version = latest.version + 1 if latest else 1
    document = signer.sign(protocol.build_schedule(
        device.id, version, issued_at=now, horizon_end=horizon_end, zones=zones, items=list(items),
        status_interval_s=status_interval_s))
    publication = Publication(device_id=device.id, version=version,
                              fingerprint=document_fingerprint(zones, items, status_interval_s), document=document,
                              created_at=now)
    uow.delivery.add_publication(publication)
    return publication



def schedule_horizon_end(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)
