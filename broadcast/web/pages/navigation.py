"""The menu: each page for the roles that may use it, and only pages this app serves."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from broadcast.domain.auth import Action, Principal, Role

ROLE_LABELS_VI = {Role.ADMIN: "Quản trị viên", Role.EDITOR: "Cán bộ biên tập", Role.APPROVER: "Lãnh đạo duyệt",
                  Role.EMERGENCY_OPERATOR: "Trực phát khẩn cấp", Role.VIEWER: "Người theo dõi"}


@dataclass(frozen=True)
class MenuItem:
    label: str
    route: str  # the name of the page's route
    actions: tuple[Action, ...]  # the item shows to whoever may do any of these somewhere


@dataclass(frozen=True)
class Link:
    label: str
    path: str
    badge: int = 0  # a count that wants attention (open alerts)


# In the order of the pages; a page registers its route under the name here and appears by itself.
MENU = (
    MenuItem("Trang chủ", "home", (Action.READ,)),
    MenuItem("Thư viện", "library", (Action.READ,)),
    MenuItem("Chương trình", "programmes", (Action.READ,)),
    MenuItem("Lịch phát", "schedules", (Action.READ,)),
    MenuItem("Duyệt lịch", "approvals", (Action.APPROVE_SCHEDULES,)),
    MenuItem("Khẩn cấp", "emergency", (Action.SEND_EMERGENCY,)),
    MenuItem("Phát trực tiếp", "live", (Action.EDIT_SCHEDULES, Action.SEND_EMERGENCY)),  # editors, operators
    MenuItem("Thiết bị", "devices", (Action.READ,)),
    MenuItem("Cảnh báo", "alerts", (Action.READ,)),
    MenuItem("Nhật ký phát", "playlog", (Action.READ,)),
    MenuItem("Quản trị", "administration", (Action.MANAGE_USERS,)),
)


def navigation(principal: Principal, paths: Mapping[str, str], badges: Mapping[str, int] | None = None) -> list[Link]:
    """The menu of this principal; `paths` maps the names of the routes the app serves to their paths, `badges`
    route names to counts shown beside them."""
    return [Link(item.label, paths[item.route], (badges or {}).get(item.route, 0)) for item in MENU
            if item.route in paths and any(principal.areas_for(action) for action in item.actions)]
