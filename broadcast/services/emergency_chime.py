"""The attention signal every emergency message starts with: the default chime, or an administrator's file.

Replacing or restoring it is audited like any administrator's change; the next emergency uses it (alerts already
sent keep the audio they were rendered with). Anyone signed in may listen to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from broadcast.domain.auth import Action, Principal
from broadcast.domain.errors import PermissionDenied
from broadcast.domain.text import clean_text
from broadcast.services.context import Actor, audit
from broadcast.services.ports import AudioProcessor, Clock, UnitOfWork

OBJECT_TYPE, OBJECT_ID = "emergency_chime", "chime"


@dataclass(frozen=True)
class Chime:
    path: Path
    custom: bool  # an administrator's file, not the default


def current_chime(principal: Principal, processor: AudioProcessor) -> Chime:
    if not principal.may(Action.READ, None):
        raise PermissionDenied(f"Tài khoản {principal.username} không có quyền nghe tín hiệu chú ý.")
    path, custom = processor.chime_file()
    return Chime(path, custom)


def replace_chime(uow: UnitOfWork, clock: Clock, actor: Actor, processor: AudioProcessor, *, upload: Path,
                  original_name: str) -> int:
    """Check the file and make it the chime; returns its duration in ms. `upload` stays the caller's."""
    actor.require(Action.MANAGE_USERS, None)  # shared by every area, as the shared library is
    name = clean_text(original_name, "Tên tệp")
    duration_ms = processor.replace_chime(upload, name)
    with uow:
        audit(uow, clock, actor, "emergency.chime_set", OBJECT_TYPE, OBJECT_ID, original_name=name,
              duration_ms=duration_ms)
        uow.commit()
    return duration_ms


def restore_default_chime(uow: UnitOfWork, clock: Clock, actor: Actor, processor: AudioProcessor) -> bool:
    """Back to the default chime; False (nothing audited) when it was in use already."""
    actor.require(Action.MANAGE_USERS, None)
    if not processor.reset_chime():
        return False
    with uow:
        audit(uow, clock, actor, "emergency.chime_reset", OBJECT_TYPE, OBJECT_ID)
        uow.commit()
    return True
