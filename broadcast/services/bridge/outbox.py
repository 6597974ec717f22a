"""The outbox towards the central system: messages are written with the change, sent in order, each once.

Delivery is strictly in id order: while the head message fails, nothing behind it is sent, and it is retried
with exponential backoff (base, 2x, 4x ... up to a cap). The central side dedupes by idempotency key, so a
message whose answer was lost is sent again under the same key and is not counted twice. A message the central
side refuses outright (4xx) cannot succeed by retrying: it is closed with the refusal recorded, so it does not
block everything behind it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from broadcast.services.bridge.ports import CentralClient, OutboxMessage, SendResult
from broadcast.services.ports import Clock, UnitOfWork

log = logging.getLogger(__name__)
BATCH = 100


def enqueue(uow: UnitOfWork, clock: Clock, kind: str, key: str, payload: Mapping[str, Any]) -> bool:
    """Inside the caller's transaction; False when the key is already queued or sent."""
    return uow.bridge.enqueue(kind, key, payload, at=clock.now())


def backoff(attempts: int, base_s: int, max_s: int) -> timedelta:
    """Delay after the n-th failed attempt (n >= 1): base * 2^(n-1), at most max."""
    return timedelta(seconds=min(max_s, base_s * 2 ** min(attempts - 1, 30)))


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int  # 0 or 1: sending stops at the first failure
    refused: int
    waiting: bool  # the head message is backing off
    error: str = ""


def _deliver(client: CentralClient, message: OutboxMessage) -> SendResult:
    try:
        if message.kind == "receipt":
            return client.send_receipt(str(message.payload.get("bulletin_id", "")), message.idempotency_key,
                                       message.payload)
        return client.send(message.kind, message.idempotency_key, message.payload)
    except Exception as exc:  # an adapter bug must not lose the message: it stays queued
        log.exception("bridge client failed on message %s", message.id)
        return SendResult(False, error=f"{type(exc).__name__}: {exc}"[:300])


def send_due(uow_factory: Callable[[], UnitOfWork], clock: Clock, client: CentralClient, *, retry_base_s: int,
             retry_max_s: int, limit: int = 1000) -> SendReport:
    sent = refused = 0
    while sent + refused < limit:
        uow = uow_factory()
        with uow:
            batch = uow.bridge.pending(limit=min(BATCH, limit - sent - refused))
        if not batch:
            break
        for message in batch:
            now = clock.now()
            if message.next_attempt_at > now:
                return SendReport(sent, 0, refused, True)
            result = _deliver(client, message)
            uow = uow_factory()
            with uow:
                if result.ok:
                    uow.bridge.mark_delivered(message.id, at=clock.now())
                    sent += 1
                elif result.permanent:
                    uow.bridge.mark_delivered(message.id, at=clock.now(), error="refused: " + result.error)
                    refused += 1
                    log.error("central side refused %s %s: %s", message.kind, message.idempotency_key, result.error)
                else:
                    retry_at = clock.now() + backoff(message.attempts + 1, retry_base_s, retry_max_s)
                    uow.bridge.mark_failed(message.id, error=result.error or "failed", next_attempt_at=retry_at)
                uow.commit()
            if not result.ok and not result.permanent:
                log.warning("central side unavailable (%s); %s %s retried at %s", result.error, message.kind,
                            message.idempotency_key, retry_at.isoformat())
                return SendReport(sent, 1, refused, False, result.error)
    return SendReport(sent, 0, refused, False)
