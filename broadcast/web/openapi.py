"""An honest API description: each operation lists the error statuses it really answers, all in the one error shape.

Statuses that follow from how an operation is built are added here for every operation: 401 when it needs a
token, 400/413/422 when it takes a body, 422 when it takes parameters FastAPI validates. Statuses that follow
from its use case (403, 404, 409, 429, ...) are declared on the route with `errors(...)`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

ERROR_REF = "#/components/schemas/ErrorOut"


class ErrorDetail(BaseModel):
    code: str  # stable, English, for programs
    message: str  # Vietnamese, for officers
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorDetail


DESCRIPTIONS = {
    400: "Nội dung gửi lên sai cú pháp (JSON, biểu mẫu).",
    401: "Chưa đăng nhập, mã truy cập không hợp lệ hoặc đã hết hạn.",
    403: "Tài khoản không có quyền với khu vực hoặc dữ liệu này.",
    404: "Không tìm thấy dữ liệu được nhắc tới.",
    409: "Xung đột với trạng thái hiện tại của dữ liệu.",
    413: "Dữ liệu gửi lên vượt giới hạn của thao tác này.",
    422: "Dữ liệu gửi lên không hợp lệ.",
    429: "Thử quá nhiều lần; xem Retry-After.",
    503: "Dịch vụ phụ thuộc (cơ sở dữ liệu) chưa sẵn sàng.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: error statuses its use case answers, in the error shape."""
    return {status: {"model": ErrorOut, "description": DESCRIPTIONS[status]} for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    return {"description": DESCRIPTIONS[status], "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}


def _validated(parameter: dict[str, Any]) -> bool:
    """Whether FastAPI may refuse the parameter (422): a required query value, a typed or constrained one.
    A free-text path segment never is."""
    if parameter.get("required") and parameter.get("in") != "path":
        return True
    schema = parameter.get("schema", {})
    variants = [v for v in schema.get("anyOf", [schema]) if v.get("type") != "null"]
    return any(v.get("type") != "string" or set(v) - {"type", "title", "description", "default"} for v in variants)


def _json_error(status: str, response: dict[str, Any]) -> bool:
    """An error status answered in JSON (the media route's Range errors are plain text and stay as declared)."""
    content = response.get("content")
    return status.isdigit() and int(status) in DESCRIPTIONS and (content is None or "application/json" in content)


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the statuses every operation answers by construction; JSON error responses use ErrorOut (idempotent)."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            implied = set()
            if operation.get("security"):
                implied.add(401)
            if "requestBody" in operation:
                implied |= {400, 413, 422}
            if any(_validated(parameter) for parameter in operation.get("parameters", ())):
                implied.add(422)
            for status in implied:
                responses.setdefault(str(status), {})
            for status, response in responses.items():
                if _json_error(status, response):
                    responses[status] = {**response, **_error_response(int(status))}
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if "ErrorOut" not in schemas:
        generated = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(generated.pop("$defs", {}))
        schemas["ErrorOut"] = generated
    return spec


def install_openapi(app: FastAPI) -> None:
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        return document_errors(generate())

    app.openapi = openapi  # type: ignore[method-assign]
