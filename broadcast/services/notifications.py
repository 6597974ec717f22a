"""Telling people and systems about alerts: messages staged in the outbox inside the transaction that records the
alert (services/alerts.py calls the notifier there), delivered by a job that retries with backoff, in order per
recipient, once each; and a daily digest per commune.

E-mail goes to the enabled users with an address who hold an admin, editor or approver role on the device's
commune or its province; webhooks registered for the commune or the province get every event of the causes they
asked for (all when none), as signed JSON (domain/notifications.py).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from broadcast.domain.alert_events import AlertEvent
from broadcast.domain.alerts import AlertQuery, describe
from broadcast.domain.notifications import (
    Message,
    PendingMessage,
    alert_email,
    alert_payload,
    alert_subject,
    digest_email,
    retry_delay,
    when_text,
)
from broadcast.services.ports import Clock, UnitOfWork

log = logging.getLogger(__name__)
EMAILED_KINDS = ("opened", "resolved")  # acknowledgements go to webhooks only: people were told who took it
DELIVERY_BATCH = 200
MAX_ROUNDS = 50
CLAIM_S = 120  # longer than one SMTP or HTTP attempt may take (their timeouts are 20 s and 10 s)


class EmailSender(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


class WebhookSender(Protocol):
    def post(self, url: str, secret: str, event_id: str, body: str) -> None: ...


@dataclass(frozen=True)
class Notifier:
    """Stages the messages of alert events; called inside the alert's transaction."""

    tz: tzinfo
    public_url: str

    def __call__(self, uow: UnitOfWork, clock: Clock, events: Sequence[AlertEvent]) -> None:
        messages: list[Message] = []
        names: dict[str, str] = {}
        for event in events:
            device = uow.devices.get(event.device_id)
            chain = device.area_chain() if device is not None else (event.commune_code,)
            device_name = device.name if device is not None else event.device_id
            if event.commune_code not in names:
                area = uow.areas.get(event.commune_code)
                names[event.commune_code] = area.name if area is not None else event.commune_code
            commune = names[event.commune_code]
            event_id = uuid.uuid4().hex
            subject = alert_subject(event, device_name, commune)
            if event.kind in EMAILED_KINDS:
                body = alert_email(event, device_name, commune, self.tz, f"{self.public_url}/canh-bao")
                messages += [Message("email", address, event_id, subject, body)
                             for _user, address in uow.notifications.recipients(chain)]
            payload = alert_payload(event, event_id, device_name)
            messages += [Message("webhook", str(hook.id), event_id, subject, payload)
                         for hook in uow.notifications.webhooks_for(chain)
                         if not hook.causes or event.cause in hook.causes]
        uow.notifications.stage(messages, at=clock.now())


def deliver(uow_factory: Callable[[], UnitOfWork], clock: Clock, email: EmailSender | None,
            webhook: WebhookSender) -> int:
    """Send what is due, the oldest message of each recipient first; a failure waits (backoff) and holds back that
    recipient's later messages, so a receiver that was down gets every event later, once, in order."""
    sent = 0
    for _round in range(MAX_ROUNDS):  # each round sends the next message of every recipient
        due = _claim(uow_factory, clock)
        if not due:
            break
        sent += _deliver_round(uow_factory, clock, due, email, webhook)
    return sent


def _claim(uow_factory: Callable[[], UnitOfWork], clock: Clock) -> list[PendingMessage]:
    """What is due, each message claimed for CLAIM_S so that a second sender (another job run, another node) does
    not send it too; a sender that dies leaves it to be tried again after the claim."""
    uow = uow_factory()
    with uow:
        now = clock.now()
        claimed = [m for m in uow.notifications.due(now, DELIVERY_BATCH)
                   if uow.notifications.claim(m.id, due_by=now, until=now + timedelta(seconds=CLAIM_S))]
        uow.commit()
    return claimed


def _deliver_round(uow_factory: Callable[[], UnitOfWork], clock: Clock, due: Sequence[PendingMessage],
                   email: EmailSender | None, webhook: WebhookSender) -> int:
    sent = 0
    for message in due:
        error = _send(uow_factory, message.channel, message.recipient, message.subject, message.body,
                      message.event_id, email, webhook)
        uow = uow_factory()
        with uow:
            now = clock.now()
            if error is None:
                uow.notifications.mark_sent(message.id, now)
                sent += 1
            else:
                attempts = message.attempts + 1
                uow.notifications.mark_failed(message.id, attempts=attempts, retry_at=now + retry_delay(attempts),
                                              error=error)
                log.warning("notification %s to %s %s failed (attempt %s): %s", message.id, message.channel,
                            message.recipient, attempts, error)
            uow.commit()
    return sent


def _send(uow_factory: Callable[[], UnitOfWork], channel: str, recipient: str, subject: str, body: str,
          event_id: str, email: EmailSender | None, webhook: WebhookSender) -> str | None:
    """None when delivered, else why not."""
    try:
        if channel == "email":
            if email is None:
                return "LOAXA_SMTP_URL chưa được đặt"
            email.send(recipient, subject, body)
            return None
        uow = uow_factory()
        with uow:
            hook = uow.notifications.get_webhook(int(recipient))
        if hook is None:
            return None  # removed meanwhile: nothing to deliver (disable_webhook settles its backlog too)
        webhook.post(hook.url, hook.secret, event_id, body)
        return None
    except Exception as exc:  # any failure of the receiver is retried later
        return f"{type(exc).__name__}: {exc}"[:500]


def stage_daily_digest(uow_factory: Callable[[], UnitOfWork], clock: Clock, tz: tzinfo, public_url: str) -> int:
    """Each commune with devices, to its responsible people: alerts not yet over, and yesterday's misses and
    failures (a miss because the amplifier was switched off on purpose is told apart). Returns the messages
    staged."""
    now = clock.now()
    today = now.astimezone(tz).date()
    today_start = datetime.combine(today, time(), tz)
    yesterday_start = datetime.combine(today - timedelta(days=1), time(), tz)
    uow = uow_factory()
    staged = 0
    with uow:
        outcomes = uow.reports.outcome_counts(yesterday_start, today_start, None)  # yesterday, local time
        for commune in uow.health.fleet(yesterday_start):
            recipients = uow.notifications.recipients((commune.commune_code, commune.province_code))
            if not recipients:
                continue
            area = uow.areas.get(commune.commune_code)
            name = area.name if area is not None else commune.commune_code
            alerts = [a for a in uow.alerts.list(AlertQuery(frozenset({commune.commune_code}), limit=500))
                      if a.resolved_at is None]
            devices = {a.device_id: uow.devices.get(a.device_id) for a in alerts}
            listed = [{"device_id": a.device_id, "text": describe(a.cause.value, a.details),
                       "device_name": (d.name if (d := devices[a.device_id]) is not None else a.device_id),
                       "since": when_text(a.opened_at or a.first_seen_at, tz)} for a in alerts]
            missed, failed, powered_off = (outcomes.get((commune.commune_code, o), 0)
                                           for o in ("missed", "failed", "powered_off"))
            subject, body = digest_email(name, _day(today), _day(today - timedelta(days=1)), listed, missed,
                                         failed, powered_off, f"{public_url}/canh-bao?khu={commune.commune_code}")
            event_id = uuid.uuid4().hex
            uow.notifications.stage([Message("email", address, event_id, subject, body)
                                     for _user, address in recipients], at=now)
            staged += len(recipients)
        uow.commit()
    return staged


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")
