"""Renditions for devices: no login, ETag = sha256, Range requests, cached for a year (content never changes)."""
from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from broadcast.web.deps import ContainerDep
from broadcast.web.errors import error_response
from broadcast.web.openapi import errors

router = APIRouter(tags=["media"])
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@router.get("/media/{sha256}.mp3", responses={
    200: {"content": {"audio/mpeg": {}}}, 206: {"description": "Một đoạn của tệp (Range)."},
    304: {"description": "Không đổi (If-None-Match)."}, **errors(404),
    400: {"description": "Range sai cú pháp.", "content": {"text/plain": {}}},
    416: {"description": "Range ngoài tệp.", "content": {"text/plain": {}}}})
@router.head("/media/{sha256}.mp3", include_in_schema=False)  # one operation in the API description
def media(sha256: str, request: Request, container: ContainerDep) -> Response:
    path = container.audio.media_path(sha256) if SHA256.match(sha256) else None
    if path is None:
        return error_response(404, "media_not_found", "Không tìm thấy tệp âm thanh.")
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable", "Accept-Ranges": "bytes"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type="audio/mpeg", headers=headers)
