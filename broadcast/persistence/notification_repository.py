"""Webhooks, the people to tell, and the notification outbox, in SQL."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from broadcast.domain.notifications import Message, PendingMessage, Webhook
from broadcast.persistence.models import GrantRow, UserRow, core_table
from broadcast.persistence.models_notify import NotificationRow, WebhookRow
from broadcast.persistence.repositories import _aware, affected_rows, within_areas_clause

OUTBOX = core_table(NotificationRow)
RESPONSIBLE_ROLES = ("admin", "editor", "approver")  # who looks after the loudspeakers of an area


def _webhook(row: WebhookRow) -> Webhook:
    return Webhook(row.id, row.url, row.secret, row.area_code, tuple(row.causes or ()), row.created_by,
                   _aware(row.created_at), row.disabled)


class SqlNotificationRepository:
    def __init__(self, session: Session):
        self.session = session

    # ------------------------------------------------------------ who is told

    def recipients(self, area_chain: Iterable[str]) -> list[tuple[str, str]]:
        """(username, e-mail) of enabled users responsible for any area of the chain, each once."""
        rows = self.session.execute(
            select(UserRow.username, UserRow.email).join(GrantRow, GrantRow.user_id == UserRow.id)
            .where(GrantRow.area_code.in_(list(area_chain)), GrantRow.role.in_(RESPONSIBLE_ROLES),
                   UserRow.disabled.is_(False), UserRow.email.is_not(None)).distinct().order_by(UserRow.username))
        return [(u, e) for u, e in rows if e]

    def webhooks_for(self, area_chain: Iterable[str]) -> list[Webhook]:
        return [_webhook(r) for r in self.session.scalars(
            select(WebhookRow).where(WebhookRow.area_code.in_(list(area_chain)), WebhookRow.disabled.is_(False))
            .order_by(WebhookRow.id))]

    def add_webhook(self, *, url: str, secret: str, area_code: str, causes: Sequence[str], by: str,
                    at: datetime) -> Webhook:
        row = WebhookRow(url=url, secret=secret, area_code=area_code, causes=list(causes), created_by=by,
                         created_at=at, disabled=False)
        self.session.add(row)
        self.session.flush()
        return _webhook(row)

    def webhooks(self, within_areas: frozenset[str]) -> list[Webhook]:
        return [_webhook(r) for r in self.session.scalars(
            select(WebhookRow).where(WebhookRow.disabled.is_(False),
                                     within_areas_clause(WebhookRow.area_code, within_areas))
            .order_by(WebhookRow.id))]

    def get_webhook(self, webhook_id: int) -> Webhook | None:
        row = self.session.get(WebhookRow, webhook_id)
        return _webhook(row) if row is not None and not row.disabled else None

    def disable_webhook(self, webhook_id: int, *, at: datetime) -> None:
        """Kept, not deleted: its undelivered messages are dropped with it (it asked for nothing more)."""
        self.session.execute(update(WebhookRow).where(WebhookRow.id == webhook_id).values(disabled=True))
        self.session.execute(update(OUTBOX).where(OUTBOX.c.channel == "webhook",
                                                  OUTBOX.c.recipient == str(webhook_id), OUTBOX.c.sent_at.is_(None))
                             .values(sent_at=at, last_error="webhook removed"))

    # ------------------------------------------------------------ the outbox

    def stage(self, messages: Sequence[Message], *, at: datetime) -> None:
        if messages:
            self.session.flush()
            self.session.connection().execute(insert(OUTBOX), [
                {"channel": m.channel, "recipient": m.recipient, "event_id": m.event_id, "subject": m.subject,
                 "body": m.body, "created_at": at, "attempts": 0, "next_attempt_at": at} for m in messages])

    def due(self, now: datetime, limit: int) -> list[PendingMessage]:
        """Per recipient, its oldest unsent message, when its time has come: the next one waits behind it."""
        first = (select(func.min(OUTBOX.c.id).label("id")).where(OUTBOX.c.sent_at.is_(None))
                 .group_by(OUTBOX.c.channel, OUTBOX.c.recipient).subquery())
        rows = self.session.execute(
            select(OUTBOX).join(first, first.c.id == OUTBOX.c.id).where(OUTBOX.c.next_attempt_at <= now)
            .order_by(OUTBOX.c.id).limit(limit))
        return [PendingMessage(r.id, r.channel, r.recipient, r.event_id, r.subject, r.body, r.attempts,
                        _aware(r.created_at)) for r in rows]

    def claim(self, message_id: int, *, due_by: datetime, until: datetime) -> bool:
        """Take the message for sending if nobody else has since it was found due (a conditional update)."""
        result = self.session.execute(update(OUTBOX).where(OUTBOX.c.id == message_id, OUTBOX.c.sent_at.is_(None),
                                                           OUTBOX.c.next_attempt_at <= due_by)
                                      .values(next_attempt_at=until))
        return affected_rows(result) == 1

    def mark_sent(self, message_id: int, at: datetime) -> None:
        self.session.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(sent_at=at, last_error=None))

    def mark_failed(self, message_id: int, *, attempts: int, retry_at: datetime, error: str) -> None:
        self.session.execute(update(OUTBOX).where(OUTBOX.c.id == message_id)
                             .values(attempts=attempts, next_attempt_at=retry_at, last_error=error[:500]))

    def backlog(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(OUTBOX).where(OUTBOX.c.sent_at.is_(None)))
                   or 0)

    def sent(self, channel: str, recipient: str | None = None) -> list[PendingMessage]:
        """Delivered messages, oldest first (for pages and tests)."""
        stmt = select(OUTBOX).where(and_(OUTBOX.c.channel == channel, OUTBOX.c.sent_at.is_not(None)))
        if recipient is not None:
            stmt = stmt.where(OUTBOX.c.recipient == recipient)
        return [PendingMessage(r.id, r.channel, r.recipient, r.event_id, r.subject, r.body, r.attempts,
                        _aware(r.created_at)) for r in self.session.execute(stmt.order_by(OUTBOX.c.id))]
