"""The stand-in central server as a FastAPI app; state in memory, shared with tests through `CentralState`."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

MODES = ("ok", "fail", "slow", "nonsense")
PAGE_MAX = 200


@dataclass
class CentralState:
    """Everything the stand-in holds; tests read it directly, the admin endpoints show it over HTTP."""

    token: str = ""  # when set, /api/v1 wants "Authorization: Bearer <token>"
    mode: str = "ok"
    delay_s: float = 0.0
    bulletins: list[dict] = field(default_factory=list)  # the feed; the cursor is a position in it
    received: list[dict] = field(default_factory=list)  # receipts and reports, first arrival of each key, in order
    duplicates: list[str] = field(default_factory=list)  # keys that came again
    attempts: int = 0  # every call to /api/v1, failed or not
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        with self.lock:
            self.mode, self.delay_s, self.attempts = "ok", 0.0, 0
            self.bulletins.clear()
            self.received.clear()
            self.duplicates.clear()
            self.media.clear()

    def add_bulletins(self, items: list[dict]) -> None:
        with self.lock:
            self.bulletins.extend(items)

    def set_mode(self, mode: str, delay_s: float = 0.0) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        with self.lock:
            self.mode, self.delay_s = mode, delay_s

    def record(self, kind: str, key: str, payload: Any) -> bool:
        """False when the key was seen before: the central side counts each message once."""
        with self.lock:
            if any(r["key"] == key for r in self.received):
                self.duplicates.append(key)
                return False
            self.received.append({"kind": kind, "key": key, "payload": payload, "at": time.time()})
            return True

    def of_kind(self, kind: str) -> list[dict]:
        with self.lock:
            return [r for r in self.received if r["kind"] == kind]


def sign(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The push signature (docs/bridge.md): HMAC-SHA256 over f"{timestamp}." + body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-LoaXa-Timestamp": str(timestamp), "X-LoaXa-Signature": f"sha256={mac}"}


def create_central_app(state: CentralState | None = None) -> FastAPI:
    state = state or CentralState()
    app = FastAPI(title="Stand-in central source information system", docs_url="/docs", redoc_url=None)
    app.state.central = state

    async def misbehave(request: Request) -> Response | None:
        """Apply the failure mode; a Response means: answer this instead."""
        with state.lock:
            state.attempts += 1
            mode, delay = state.mode, state.delay_s
        if state.token and request.headers.get("Authorization") != f"Bearer {state.token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if mode == "fail":
            return JSONResponse({"error": "internal"}, status_code=500)
        if mode == "slow":
            await asyncio.sleep(delay)
        return None

    @app.get("/api/v1/bulletins")
    async def bulletins(request: Request, cursor: str | None = None, limit: int = 50) -> Response:
        if (answer := await misbehave(request)) is not None:
            return answer
        if state.mode == "nonsense":
            return PlainTextResponse("<html>Gateway says hello</html>", status_code=200)
        try:
            start = int(cursor) if cursor else 0
        except ValueError:
            raise HTTPException(400, "bad cursor") from None
        with state.lock:
            page = state.bulletins[start:start + max(1, min(limit, PAGE_MAX))]
        return JSONResponse({"items": page, "next_cursor": str(start + len(page))})

    async def _recorded(request: Request, kind: str) -> Response:
        if (answer := await misbehave(request)) is not None:
            return answer
        key = request.headers.get("Idempotency-Key")
        if not key:
            return JSONResponse({"error": "Idempotency-Key required"}, status_code=400)
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        new = state.record(kind, key, payload)
        if state.mode == "nonsense":  # recorded, then the answer is mangled on the way back
            return PlainTextResponse("OK?", status_code=200)
        return JSONResponse({"status": "recorded" if new else "duplicate"})

    @app.post("/api/v1/receipts")
    async def receipts(request: Request) -> Response:
        return await _recorded(request, "receipt")

    @app.post("/api/v1/reports/{kind}")
    async def reports(kind: str, request: Request) -> Response:
        return await _recorded(request, kind)

    @app.get("/media/{name}")
    def media(name: str) -> Response:
        found = state.media.get(name)
        if found is None:
            raise HTTPException(404)
        return Response(found[0], media_type=found[1])

    # ------------------------------------------------------------------ admin (never fails)

    @app.post("/admin/bulletins")
    async def add_bulletins(request: Request) -> dict:
        data = json.loads(await request.body())
        items = data if isinstance(data, list) else [data]
        state.add_bulletins(items)
        return {"added": len(items), "total": len(state.bulletins)}

    @app.put("/admin/media/{name}")
    async def put_media(name: str, request: Request) -> dict:
        state.media[name] = (await request.body(), request.headers.get("Content-Type", "application/octet-stream"))
        return {"url": str(request.url_for("media", name=name))}

    @app.post("/admin/reset")
    def reset() -> dict:
        state.reset()
        return {"reset": True}

    @app.post("/admin/mode")
    async def set_mode(request: Request) -> dict:
        data = json.loads(await request.body())
        try:
            state.set_mode(data.get("mode", "ok"), float(data.get("delay_s", 0)))
        except ValueError:
            raise HTTPException(422, f"mode must be one of {MODES}") from None
        return {"mode": state.mode, "delay_s": state.delay_s}

    @app.get("/admin/received")
    def received() -> dict:
        with state.lock:
            return {"received": list(state.received), "duplicates": list(state.duplicates),
                    "attempts": state.attempts, "mode": state.mode, "bulletins": len(state.bulletins)}

    @app.post("/admin/push")
    async def push(request: Request) -> dict:
        """Sign a bulletin with the shared secret and POST it to the province system: {bulletin, url, secret}."""
        data = json.loads(await request.body())
        body = json.dumps(data["bulletin"], ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **sign(data["secret"], int(time.time()), body)}
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.post(data["url"], content=body, headers=headers)
        try:
            reply = answer.json()
        except ValueError:
            reply = answer.text[:1000]
        return {"status_code": answer.status_code, "reply": reply}

    return app
