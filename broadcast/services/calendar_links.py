"""Private calendar addresses: /lich/{token}.ics lets a phone calendar subscribe to an area's approved schedules
without sending any header.

The token is the credential, so only its SHA-256 is stored (a 256-bit random token needs no slow hash) and it is
shown once, when made. Each user has at most one: making a new one ends the old one. The feed is read with the
user's rights as they are at that moment (grants changed since then apply), and the address dies with the account's
token epoch: disabling the account or a new password ends it, like every session of the account.
"""
from __future__ import annotations

import hashlib
import secrets

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import NotFound
from broadcast.services.areas import get_area
from broadcast.services.context import Actor, audit
from broadcast.services.ports import CalendarLink, Clock, UnitOfWork

TOKEN_BYTES = 32
UNKNOWN = "Không tìm thấy lịch phát này. Liên kết có thể đã được thay mới hoặc thu hồi."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signed_in(actor: Actor) -> Principal:
    if actor.principal is None:
        raise NotFound("Chỉ tài khoản cán bộ mới có liên kết lịch riêng.", code="calendar_link_needs_user")
    return actor.principal


def create_link(uow: UnitOfWork, clock: Clock, actor: Actor, area_code: str) -> str:
    """A new private token for the actor's calendar of `area_code` (which they must be able to read); any earlier
    one stops working. Returns the token: it cannot be read back later."""
    principal = _signed_in(actor)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with uow:
        area = get_area(uow, area_code)
        principal.require(Action.READ, area.chain())
        user = uow.users.get(principal.user_id)
        if user is None or user.disabled:
            raise NotFound("Không tìm thấy tài khoản.", code="user_not_found")
        uow.calendar_links.put(CalendarLink(user_id=user.id, token_hash=token_hash(token), area_code=area.code,
                                            token_epoch=user.token_epoch, created_at=clock.now()))
        audit(uow, clock, actor, "calendar_link.create", "user", user.username, area_code=area.code)
        uow.commit()
    return token


def revoke_link(uow: UnitOfWork, clock: Clock, actor: Actor) -> bool:
    """End the actor's private address; False when there was none."""
    principal = _signed_in(actor)
    with uow:
        existing = uow.calendar_links.of_user(principal.user_id)
        if existing is None:
            return False
        uow.calendar_links.delete(principal.user_id)
        audit(uow, clock, actor, "calendar_link.revoke", "user", principal.username, area_code=existing.area_code)
        uow.commit()
    return True


def link_of(uow: UnitOfWork, principal: Principal) -> CalendarLink | None:
    """The user's current address (its area and date, not its token), if it still works."""
    with uow:
        link = uow.calendar_links.of_user(principal.user_id)
        user = uow.users.get(principal.user_id)
    if link is None or user is None or user.disabled or link.token_epoch != user.token_epoch:
        return None
    return link


def resolve_token(uow: UnitOfWork, token: str) -> tuple[Principal, str]:
    """The principal (with the account's grants of now) and area a token reads; NotFound for an unknown, replaced
    or revoked token, a disabled account or one whose password changed since."""
    if not token or len(token) > 128:
        raise NotFound(UNKNOWN, code="calendar_link_not_found")
    with uow:
        link = uow.calendar_links.by_hash(token_hash(token))
        user = uow.users.get(link.user_id) if link is not None else None
    if link is None or user is None or user.disabled or link.token_epoch != user.token_epoch:
        raise NotFound(UNKNOWN, code="calendar_link_not_found")
    return Principal(user_id=user.id, username=user.username, grants=user.grants), link.area_code
