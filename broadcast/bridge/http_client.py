"""The central client over HTTP (httpx): pull bulletins by cursor, post receipts and reports with idempotency keys.

Paths under the base URL (which may be an LGSP gateway's prefix): GET bulletins?cursor=, POST receipts,
POST reports/{kind}. Authentication: a static bearer token, or OAuth2 client credentials at a token URL (the
usual LGSP set-up), or HTTP Basic with the client id and secret. Anything but a well-formed answer is
CentralUnavailable (fetch) or a failed SendResult (send), so callers retry later.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from broadcast.bridge.mapping import parse_page
from broadcast.services.bridge.ports import Bulletin, CentralUnavailable, Malformed, SendResult

log = logging.getLogger(__name__)
PAGE_SIZE = 50
ACCEPTED = ("recorded", "duplicate")


class HttpCentralClient:
    def __init__(self, base_url: str, *, token: str = "", client_id: str = "", client_secret: str = "",
                 token_url: str = "", timeout_s: float = 10.0, system_id: str = "loaxa",
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.system_id = system_id
        self._static_token = token
        self._client_id, self._client_secret, self._token_url = client_id, client_secret, token_url
        self._oauth: tuple[str, float] | None = None  # (token, expires at monotonic)
        self._lock = threading.Lock()
        auth = httpx.BasicAuth(client_id, client_secret) if client_id and client_secret and not token_url \
            and not token else None
        self._http = httpx.Client(timeout=timeout_s, auth=auth, transport=transport,
                                  headers={"User-Agent": "LoaXa-bridge/1", "X-LoaXa-System": system_id})

    @classmethod
    def from_settings(cls, settings) -> HttpCentralClient:
        return cls(settings.bridge_base_url, token=settings.bridge_token, client_id=settings.bridge_client_id,
                   client_secret=settings.bridge_client_secret, token_url=settings.bridge_token_url,
                   timeout_s=settings.bridge_timeout_s, system_id=settings.bridge_system_id)

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ auth

    def _headers(self) -> dict[str, str]:
        if self._static_token:
            return {"Authorization": f"Bearer {self._static_token}"}
        if self._token_url and self._client_id:
            return {"Authorization": f"Bearer {self._access_token()}"}
        return {}

    def _access_token(self) -> str:
        with self._lock:
            if self._oauth and self._oauth[1] > time.monotonic() + 30:
                return self._oauth[0]
            response = self._http.post(self._token_url, data={"grant_type": "client_credentials"},
                                       auth=(self._client_id, self._client_secret))
            body = response.json() if response.status_code == 200 else {}
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str):
                raise CentralUnavailable(f"token endpoint answered HTTP {response.status_code}")
            self._oauth = (token, time.monotonic() + float(body.get("expires_in") or 300))
            return token

    # ------------------------------------------------------------------ calls

    def fetch_bulletins(self, cursor: str | None) -> tuple[Sequence[Bulletin | Malformed], str | None]:
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if cursor:
            params["cursor"] = cursor
        try:
            response = self._http.get(f"{self.base_url}/bulletins", params=params, headers=self._headers())
            if response.status_code != 200:
                raise CentralUnavailable(f"bulletins: HTTP {response.status_code}")
            return parse_page(response.json())
        except (httpx.HTTPError, ValueError) as exc:  # network, timeout, not JSON, not a page
            raise CentralUnavailable(f"bulletins: {type(exc).__name__}: {exc}"[:300]) from None

    def _post(self, path: str, idempotency_key: str, payload: Mapping[str, Any]) -> SendResult:
        try:
            response = self._http.post(f"{self.base_url}/{path}", json=dict(payload),
                                       headers={**self._headers(), "Idempotency-Key": idempotency_key})
        except (httpx.HTTPError, CentralUnavailable) as exc:
            return SendResult(False, error=f"{type(exc).__name__}: {exc}"[:300])
        if response.status_code in (200, 201, 202, 409):  # 409: the key is known, the message already arrived
            try:
                status = response.json().get("status") if response.status_code != 409 else "duplicate"
            except (ValueError, AttributeError):
                status = None
            if status in ACCEPTED:
                return SendResult(True)
            return SendResult(False, error=f"unexpected reply to {path} (HTTP {response.status_code})")
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 408, 425, 429):
            return SendResult(False, permanent=True, error=f"{path}: HTTP {response.status_code}: "
                                                           f"{response.text[:300]}")
        return SendResult(False, error=f"{path}: HTTP {response.status_code}")

    def send(self, kind: str, idempotency_key: str, payload: Mapping[str, Any]) -> SendResult:
        return self._post(f"reports/{kind}", idempotency_key, payload)

    def send_receipt(self, bulletin_id: str, idempotency_key: str, payload: Mapping[str, Any]) -> SendResult:
        return self._post("receipts", idempotency_key, payload)
