"""What people and systems are told: the webhook signature a receiver can check (and cannot replay with another
timestamp), the retry steps, and the digest's wording in Vietnamese."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from broadcast.domain.alert_events import AlertEvent
from broadcast.domain.notifications import alert_payload, alert_subject, digest_email, retry_delay, sign


def test_the_signature_covers_timestamp_and_body():
    body = json.dumps({"id": "e1", "text": "Hỏng bộ khuếch đại"}, ensure_ascii=False).encode()
    expected = hmac.new(b"bi-mat", b"1764550000." + body, hashlib.sha256).hexdigest()
    assert sign("bi-mat", "1764550000", body) == f"sha256={expected}"
    assert sign("bi-mat", "1764550001", body) != sign("bi-mat", "1764550000", body)
    assert sign("khac", "1764550000", body) != sign("bi-mat", "1764550000", body)


def test_retries_back_off_then_stay_hourly():
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[0] == timedelta(seconds=30)
    assert all(a <= b for a, b in zip(delays, delays[1:], strict=False))
    assert delays[-1] == delays[-4] == timedelta(hours=1)


def test_alert_subject_and_payload():
    event = AlertEvent("opened", 7, "amplifier_fault", "hk-0001", "00070", datetime(2026, 11, 28, 23, 5, tzinfo=UTC))
    assert alert_subject(event, "Cụm loa chợ", "Phường Hoàn Kiếm") == \
        "[LoaXa] Cảnh báo mới: Hỏng bộ khuếch đại - Cụm loa chợ (Phường Hoàn Kiếm)"
    payload = json.loads(alert_payload(event, "ev-1", "Cụm loa chợ"))
    assert (payload["id"], payload["type"], payload["alert"]["id"]) == ("ev-1", "alert.opened", 7)


def test_digest_tells_power_off_apart_only_when_there_is_some():
    listed = [{"device_name": "Cụm loa chợ", "device_id": "hk-0001", "text": "Hỏng bộ khuếch đại",
               "since": "06:05 29/11"}]
    subject, body = digest_email("Phường Hoàn Kiếm", "29/11/2026", "28/11/2026", listed, 2, 1, 3, "https://x/canh-bao")
    assert subject == "[LoaXa] Tình trạng loa Phường Hoàn Kiếm ngày 29/11/2026"
    assert "Hôm qua (28/11/2026): 2 lượt phát bị lỡ, 1 lượt phát lỗi, 3 lượt không phát do tắt nguồn." in body
    assert "- Cụm loa chợ (hk-0001): Hỏng bộ khuếch đại, từ 06:05 29/11" in body
    _, quiet = digest_email("Phường Cửa Nam", "29/11/2026", "28/11/2026", [], 0, 0, 0, "https://x/canh-bao")
    assert "0 lượt phát lỗi." in quiet and "tắt nguồn" not in quiet and "Không có cảnh báo nào chưa hết." in quiet
