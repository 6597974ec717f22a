"""Webhook deliveries: JSON POSTed with its event id, a timestamp and an HMAC-SHA256 signature over both
(domain/notifications.py `sign`). Only a 2xx answer counts as delivered; anything else is retried by the outbox.
The receiver's address is judged by the fetch policy (LOAXA_FETCH_ALLOW) at registration and again here."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

from broadcast.adapters.fetch_policy import FetchPolicy
from broadcast.domain.notifications import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

TIMEOUT_S = 10.0


class HttpWebhookSender:
    def __init__(self, policy: FetchPolicy):
        self.policy = policy
        self.client = httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)

    def post(self, url: str, secret: str, event_id: str, body: str) -> None:
        parts = urlsplit(url)
        self.policy.check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        payload = body.encode()
        timestamp = str(int(time.time()))
        response = self.client.post(url, content=payload, headers={
            "Content-Type": "application/json; charset=utf-8", EVENT_HEADER: event_id, TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, payload), "User-Agent": "LoaXa-webhook/1"})
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"HTTP {response.status_code}")

    def close(self) -> None:
        self.client.close()
