"""One JSON error shape for every error: {"error": {"code": ..., "message": ...}}, message in Vietnamese."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from broadcast.domain import errors

log = logging.getLogger(__name__)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 422,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.TooManyAttempts: 429,
}

HTTP_MESSAGES_VI = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("unauthenticated", "Cần đăng nhập để thực hiện thao tác này."),
    403: ("forbidden", "Bạn không có quyền thực hiện thao tác này."),
    404: ("not_found", "Không tìm thấy địa chỉ yêu cầu."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ cho địa chỉ này."),
    413: ("payload_too_large", "Dữ liệu gửi lên quá lớn."),
    415: ("unsupported_media_type", "Định dạng dữ liệu gửi lên không được hỗ trợ."),
    422: ("invalid_input", "Dữ liệu gửi lên không hợp lệ."),
    429: ("too_many_requests", "Quá nhiều yêu cầu, vui lòng thử lại sau."),
}


def error_body(code: str, message: str, details: object = None) -> dict:
    body: dict = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_response(status: int, code: str, message: str, details: object = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def status_for(exc: errors.DomainError) -> int:
    """The one HTTP status of a domain error (the API's JSON and the pages' HTML alike)."""
    return next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), 400)


def domain_error_response(exc: errors.DomainError) -> JSONResponse:
    status = status_for(exc)
    headers = {}
    if isinstance(exc, errors.TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(status, exc.code, exc.message, exc.details, headers)


def allowed_methods(app: Starlette, scope: Scope) -> str:
    """Every method some route takes at this path (Starlette's 405 names only the first route's)."""
    return ", ".join(m for m in METHODS
                     if any(r.matches({**scope, "method": m})[0] is Match.FULL for r in app.router.routes))


def wants_page(request: Request) -> bool:
    """A browser navigating (not the API, a file or a script) gets a page, not JSON."""
    return (request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")
            and not request.url.path.startswith(("/api/", "/static/", "/media/")))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def domain_error(_request: Request, exc: errors.DomainError) -> JSONResponse:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
                    for e in exc.errors()]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(400, "malformed_json", "Nội dung JSON không đúng cú pháp.", problems)
        return error_response(422, "invalid_input", "Dữ liệu gửi lên không hợp lệ.", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, message = HTTP_MESSAGES_VI.get(exc.status_code, ("error", "Đã xảy ra lỗi."))
        pages = getattr(request.app.state, "pages", None)
        if pages is not None and wants_page(request):  # a person followed a link or typed an address
            return pages.render(request, "error.html", status=exc.status_code, message=message)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request.app, request.scope)}
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "Lỗi hệ thống, vui lòng thử lại hoặc báo quản trị viên.")
