"""Page 9, the audit log: who did what, when (local time) and from where, in the admin's areas, filtered by
account, action and local days, newest first, a page at a time; read through services/audit_log.py as GET /audit."""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from broadcast.domain.audit import AuditQuery
from broadcast.domain.errors import InvalidInput
from broadcast.services.audit_log import query_audit
from broadcast.web.deps import ContainerDep, UowDep
from broadcast.web.pages.listing import PAGE_SIZE, Pager, filled, local_span, page_number, parse_day
from broadcast.web.pages.session import PagePrincipal, PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PATH = "/quan-tri/nhat-ky"

# What each recorded action means, for the table and the action filter's suggestions.
ACTIONS_VI = {
    "auth.login_failed": "Đăng nhập sai", "auth.logout": "Đăng xuất",
    "auth.password_change_failed": "Đổi mật khẩu không thành công", "user.create": "Tạo tài khoản",
    "user.set_grants": "Đổi vai trò", "user.disable": "Khóa tài khoản", "user.enable": "Mở khóa tài khoản",
    "user.set_password": "Đặt lại mật khẩu", "user.change_password": "Tự đổi mật khẩu",
    "calendar_link.create": "Tạo địa chỉ lịch riêng", "calendar_link.revoke": "Thu hồi địa chỉ lịch riêng",
    "policy.set": "Đặt khung giờ phát", "areas.seed": "Nạp danh mục đơn vị hành chính",
    "zone.create": "Tạo vùng phát", "zone.devices": "Gán thiết bị vào vùng phát",
    "device.register": "Đăng ký thiết bị", "device.disable": "Vô hiệu hóa thiết bị",
    "device.rotate_secret": "Đổi khóa thiết bị", "device.zones": "Đổi vùng phát của thiết bị",
    "audio.upload": "Tải lên âm thanh", "audio.tts": "Tạo âm thanh từ văn bản", "audio.delete": "Xóa âm thanh",
    "programme.create": "Tạo chương trình", "programme.update": "Sửa chương trình",
    "schedule.create": "Tạo lịch phát", "schedule.edit": "Sửa lịch phát", "schedule.submit": "Gửi duyệt lịch phát",
    "schedule.approve": "Duyệt lịch phát", "schedule.reject": "Từ chối lịch phát", "schedule.cancel": "Hủy lịch phát",
    "emergency.start": "Phát khẩn cấp", "emergency.stop": "Dừng phát khẩn cấp",
    "emergency.cap_ignored": "Bỏ qua cảnh báo CAP", "bridge.bulletin_accepted": "Nhận bản tin từ cấp trên",
    "bridge.bulletin_refused": "Từ chối bản tin từ cấp trên", "retention.purge": "Xóa dữ liệu quá hạn lưu trữ",
    "alert.acknowledge": "Nhận xử lý cảnh báo", "alert.thresholds": "Đặt ngưỡng cảnh báo",
    "webhook.create": "Thêm webhook", "webhook.delete": "Xóa webhook", "user.email": "Đặt địa chỉ thư",
    "command.set_volume": "Đặt âm lượng từ xa", "command.set_power": "Bật, tắt nguồn loa từ xa",
    "command.reboot": "Khởi động lại thiết bị", "command.resync": "Đồng bộ lịch phát từ xa",
    "live.start": "Bắt đầu phát trực tiếp", "live.stop": "Dừng phát trực tiếp",
    "live.drop": "Phát trực tiếp bị ngắt", "relay_channel.create": "Thêm kênh tiếp sóng",
    "relay_channel.update": "Sửa kênh tiếp sóng", "relay_channel.delete": "Xóa kênh tiếp sóng",
}


@dataclass(frozen=True)
class AuditFilters:
    actor: str
    action: str
    first: str
    last: str

    @classmethod
    def of(cls, request: Request) -> AuditFilters:
        p = request.query_params
        actor, action, first, last = (p.get(k, "").strip()[:100] for k in ("nguoi", "hanh_dong", "tu", "den"))
        return cls(actor, action, first, last)

    def params(self) -> dict[str, str]:
        return filled({"nguoi": self.actor, "hanh_dong": self.action, "tu": self.first, "den": self.last})


def details_text(details: dict) -> str:
    """An entry's details on one line: 'role: viewer · grants: viewer@01, editor@00070'."""
    def value(v: object) -> str:
        return ", ".join(str(x) for x in v) if isinstance(v, list | tuple) else str(v)

    return " · ".join(f"{k}: {value(v)}" for k, v in details.items() if v not in (None, "", [], {}))


@router.get(PATH, name="admin_audit")
def audit_page(request: Request, container: ContainerDep, uow: UowDep, principal: PagePrincipal,
               trang: str | None = None) -> Response:
    filters = AuditFilters.of(request)
    number = page_number(trang)
    entries, error, has_next = [], None, False
    try:
        since, until = local_span(parse_day(filters.first, "Từ ngày"), parse_day(filters.last, "Đến ngày"),
                                  container.settings.tz)
        query = AuditQuery(actor=filters.actor or None, action=filters.action or None, since=since, until=until,
                           limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
        found = list(query_audit(uow, principal, query))
        entries, has_next = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    except InvalidInput as exc:
        error = exc.message
    return request.app.state.pages.render(
        request, "admin_audit.html", status=422 if error else 200, filters=filters, entries=entries, error=error,
        pager=Pager(number, PAGE_SIZE, has_next, PATH, filters.params()), actions=ACTIONS_VI, details=details_text)
