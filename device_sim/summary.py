"""Live terminal summary of a fleet (rich)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

LABELS = [
    ("devices", "Thiết bị"),
    ("connected", "Đang kết nối"),
    ("link_down_by_fault", "Mất kết nối (giả lập)"),
    ("with_schedule", "Đã nhận lịch"),
    ("playing_now", "Đang phát"),
    ("received", "Ack received"),
    ("ready", "Ack ready"),
    ("playing", "Ack playing"),
    ("played", "Ack played"),
    ("preempted", "Ack preempted"),
    ("missed", "Ack missed"),
    ("failed", "Ack failed"),
    ("rejected", "Ack rejected"),
    ("expired", "Ack expired"),
    ("acks_pending", "Ack chờ gửi"),
    ("acks_dropped", "Ack bị bỏ (giả lập)"),
    ("reconnects", "Kết nối lại"),
    ("auth_failures", "Sai mật khẩu"),
    ("downloads", "Tệp đã tải"),
    ("download_failures", "Tải lỗi"),
    ("streams_listening", "Đang nghe luồng trực tiếp"),
    ("stream_frames", "Khung MP3 đã giải mã"),
    ("stream_audio_s", "Giây âm thanh đã nhận"),
    ("stream_bytes", "Byte luồng đã nhận"),
    ("stream_drops", "Luồng bị ngắt giữa chừng"),
]


def render(stats: dict[str, Any], *, elapsed_s: float, sim_time: str) -> Table:
    table = Table(title=f"LoaXa mô phỏng thiết bị — {elapsed_s:,.0f} s, giờ mô phỏng {sim_time}")
    table.add_column("Chỉ số")
    table.add_column("Giá trị", justify="right")
    for key, label in LABELS:
        table.add_row(label, f"{stats.get(key, 0):,}")
    return table
