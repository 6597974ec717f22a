"""Bulletin classes of Circular 39/2020/TT-BTTTT, ordered emergency > priority > normal."""
from __future__ import annotations

from enum import StrEnum

from broadcast.domain.errors import InvalidInput


class Priority(StrEnum):
    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"

    @property
    def level(self) -> int:
        return _LEVELS[self]

    @property
    def label_vi(self) -> str:
        return _LABELS_VI[self]

    @property
    def policy_exempt(self) -> bool:
        """Emergencies play whatever the quiet hours or daily caps say."""
        return self is Priority.EMERGENCY

    @classmethod
    def parse(cls, value: str) -> Priority:
        try:
            return cls(value)
        except ValueError:
            raise InvalidInput(
                f"Mức ưu tiên không hợp lệ: {value!r} (chỉ nhận normal, priority, emergency)",
                code="priority.invalid",
            ) from None

    # StrEnum would compare alphabetically; the order that matters is the class level.
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.level < other.level

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.level <= other.level

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.level > other.level

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.level >= other.level

    # Keep str hashing/equality so "normal" == Priority.NORMAL still holds.
    __hash__ = StrEnum.__hash__


_LEVELS = {Priority.NORMAL: 0, Priority.PRIORITY: 1, Priority.EMERGENCY: 2}
_LABELS_VI = {Priority.NORMAL: "thông thường", Priority.PRIORITY: "ưu tiên", Priority.EMERGENCY: "khẩn cấp"}
