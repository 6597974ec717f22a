"""HMAC-SHA256 over the timestamp and the raw body of a pushed bulletin; replays older than 5 minutes refused.

Signed text: f"{timestamp}." followed by the body bytes, so a captured body cannot be replayed with a new
timestamp. Headers: X-LoaXa-Timestamp (Unix seconds), X-LoaXa-Signature ("sha256=" + lowercase hex).
"""
from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-LoaXa-Signature"
TIMESTAMP_HEADER = "X-LoaXa-Timestamp"
MAX_SKEW_S = 300


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def sign_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, timestamp: str | None, given: str | None, body: bytes, now_s: float) -> str | None:
    """None when valid; else a short reason code (missing, stale, bad_signature)."""
    if not timestamp or not given:
        return "missing"
    try:
        sent = int(timestamp)
    except ValueError:
        return "missing"
    if abs(now_s - sent) > MAX_SKEW_S:
        return "stale"
    if not hmac.compare_digest(signature(secret, sent, body), given.strip().lower()):
        return "bad_signature"
    return None
