"""Roles, actions and the one rule that decides who may do what where."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from broadcast.domain.errors import PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    APPROVER = "approver"
    EMERGENCY_OPERATOR = "emergency_operator"
    VIEWER = "viewer"


class Action(StrEnum):
    READ = "read"                      # areas, zones, devices, audio, schedules, reports, play log
    MANAGE_ZONES = "manage_zones"
    MANAGE_DEVICES = "manage_devices"
    MANAGE_AUDIO = "manage_audio"
    EDIT_SCHEDULES = "edit_schedules"
    APPROVE_SCHEDULES = "approve_schedules"
    SEND_EMERGENCY = "send_emergency"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"
    MANAGE_POLICY = "manage_policy"  # allowed windows (quiet hours), daily minutes, weekdays, alert thresholds
    ACKNOWLEDGE_ALERTS = "acknowledge_alerts"  # the commune's officers and leaders take a fault in hand


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.EDITOR: frozenset({Action.READ, Action.MANAGE_ZONES, Action.MANAGE_AUDIO, Action.EDIT_SCHEDULES,
                            Action.ACKNOWLEDGE_ALERTS}),
    Role.APPROVER: frozenset({Action.READ, Action.APPROVE_SCHEDULES, Action.ACKNOWLEDGE_ALERTS}),
    Role.EMERGENCY_OPERATOR: frozenset({Action.READ, Action.SEND_EMERGENCY}),
    Role.VIEWER: frozenset({Action.READ}),
}

ACTION_LABELS_VI: dict[Action, str] = {
    Action.READ: "xem dữ liệu",
    Action.MANAGE_ZONES: "quản lý vùng phát",
    Action.MANAGE_DEVICES: "quản lý thiết bị",
    Action.MANAGE_AUDIO: "quản lý tệp âm thanh",
    Action.EDIT_SCHEDULES: "soạn lịch phát",
    Action.APPROVE_SCHEDULES: "duyệt lịch phát",
    Action.SEND_EMERGENCY: "phát khẩn cấp",
    Action.MANAGE_USERS: "quản lý tài khoản",
    Action.READ_AUDIT: "xem nhật ký kiểm toán",
    Action.MANAGE_POLICY: "đặt quy định giờ phát",
    Action.ACKNOWLEDGE_ALERTS: "xác nhận cảnh báo",
}


@dataclass(frozen=True)
class Grant:
    role: Role
    area_code: str


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    def may(self, action: Action, area_chain: Iterable[str] | None) -> bool:
        """True when some grant allows the action on an area in the chain (the area or one above it).

        area_chain None means "not tied to an area" (e.g. reading the audit log): any grant with the action counts.
        """
        chain = None if area_chain is None else set(area_chain)
        return any(
            action in ROLE_ACTIONS[g.role] and (chain is None or g.area_code in chain) for g in self.grants
        )

    def require(self, action: Action, area_chain: Iterable[str] | None) -> None:
        if not self.may(action, area_chain):
            raise PermissionDenied(
                f"Tài khoản {self.username} không có quyền {ACTION_LABELS_VI[action]} tại khu vực này.")

    def areas_for(self, action: Action) -> set[str]:
        """Area codes whose subtree this principal may act on; used to filter listings."""
        return {g.area_code for g in self.grants if action in ROLE_ACTIONS[g.role]}
