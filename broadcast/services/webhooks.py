"""Webhooks registered by an area's administrators: who is told of the area's alert events by HTTP."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from broadcast.domain.alerts import Cause
from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import InvalidInput, NotFound
from broadcast.domain.notifications import Webhook
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.ports import Clock, UnitOfWork


def add_webhook(uow: UnitOfWork, clock: Clock, actor: Actor, *, url: str, area_code: str, causes: Sequence[str],
                secret: str | None, check_url: Callable[[str], None]) -> Webhook:
    """`check_url` raises when the address may not be reached (the fetch policy); the secret is made when none is
    given and shown once, in the answer."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InvalidInput("Địa chỉ webhook phải là URL http(s):// đầy đủ.", code="webhook.invalid_url")
    unknown = sorted(set(causes) - {c.value for c in Cause})
    if unknown:
        raise InvalidInput(f"Không có loại cảnh báo: {', '.join(unknown)}.", code="webhook.unknown_cause")
    if secret is not None and not 16 <= len(secret) <= 200:
        raise InvalidInput("Khóa bí mật của webhook dài từ 16 đến 200 ký tự.", code="webhook.invalid_secret")
    try:
        check_url(url)
    except Exception:
        raise InvalidInput("Máy chủ không được phép gửi tới địa chỉ này (LOAXA_FETCH_ALLOW).",
                           code="webhook.address_refused") from None
    with uow:
        area = get_area(uow, area_code)
        actor.require(Action.MANAGE_DEVICES, area.chain())
        hook = uow.notifications.add_webhook(url=url, secret=secret or secrets.token_urlsafe(32), area_code=area.code,
                                             causes=sorted(set(causes)), by=actor.name, at=clock.now())
        audit(uow, clock, actor, "webhook.create", "webhook", hook.id, area_code=area.code, url=url,
              causes=list(hook.causes))
        uow.commit()
        return hook


def list_webhooks(uow: UnitOfWork, principal: Principal) -> list[Webhook]:
    with uow:
        return uow.notifications.webhooks(frozenset(principal.areas_for(Action.MANAGE_DEVICES)))


def remove_webhook(uow: UnitOfWork, clock: Clock, actor: Actor, webhook_id: int) -> None:
    with uow:
        hook = uow.notifications.get_webhook(webhook_id)
        if hook is None:
            raise NotFound(f"Không tìm thấy webhook số {webhook_id}.", code="webhook_not_found")
        actor.require(Action.MANAGE_DEVICES, get_area(uow, hook.area_code).chain())
        uow.notifications.disable_webhook(webhook_id, at=clock.now())
        audit(uow, clock, actor, "webhook.delete", "webhook", webhook_id, area_code=hook.area_code)
        uow.commit()
