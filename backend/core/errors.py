"""One error shape for every response: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: list[dict] | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.fields = fields
        self.details = details
        if code:
            self.code = code


class NotFound(AppError):
    status_code, code = 404, "not_found"


class Conflict(AppError):
    status_code, code = 409, "conflict"


class Forbidden(AppError):
    status_code, code = 403, "forbidden"


class Unauthorized(AppError):
    status_code, code = 401, "unauthorized"


class Invalid(AppError):
    status_code, code = 422, "validation_error"


class TooLarge(AppError):
    status_code, code = 413, "payload_too_large"


class TooManyRequests(AppError):
    status_code, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code, details={"retry_after_s": retry_after})
        self.retry_after = retry_after


class FieldError(BaseModel):
    path: str = Field(description="Where: body.recipe.rollout.n, path.run_id, query.limit ...")
    message: str
    type: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: not_found, validation_error, too_many_logins ...")
    message: str
    fields: list[FieldError] | None = Field(None, description="Each bad field, for validation errors.")
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


_ERROR_MEANINGS = {
    400: "Bad request",
    401: "Not authenticated (missing, unknown or expired token, or wrong credentials)",
    403: "Authenticated, but the role or the teacher's terms do not allow it",
    404: "No such resource, or one the caller cannot see",
    409: "Conflicts with the current state or an existing resource",
    413: "Upload over DISTILLERY_MAX_UPLOAD_MB",
    422: "Invalid input; fields names each bad field",
    429: "Too many attempts; wait Retry-After seconds",
}
# "model" puts ErrorBody in the schema's components; "content" names JSON also on routes whose own
# responses are text (dataset cards), since errors are JSON everywhere
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": ErrorBody,
        "description": meaning,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, meaning in _ERROR_MEANINGS.items()
}
"""Declared on every API route, so the schema and the generated client type the error body."""


def error_body(
    code: str, message: str, fields: list[dict] | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        err["fields"] = fields
    if details is not None:
        err["details"] = details
    return {"error": err}


def _field_errors(exc: RequestValidationError) -> list[dict]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        out.append({"path": ".".join(loc), "message": e.get("msg", ""), "type": e.get("type", "")})
    return out


_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(
            error_body(exc.code, exc.message, exc.fields, exc.details), exc.status_code, headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        fields = _field_errors(exc)
        summary = "; ".join(f"{f['path']}: {f['message']}" for f in fields[:5])
        return JSONResponse(error_body("validation_error", f"invalid request: {summary}", fields), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError):
        # Services check uniqueness first; this catches the race between check and insert.
        log.info("integrity error: %s", type(exc.orig).__name__)
        return JSONResponse(error_body("conflict", "conflicts with an existing resource"), 409)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError):
        # The request checks bound ids and refuse NUL; a value the database still cannot hold is the
        # client's, not a server fault. Only the driver's class is logged: the parameters hold secrets.
        log.warning("value refused by the database: %s", type(exc.orig).__name__)
        return JSONResponse(error_body("invalid_value", "a value in the request cannot be stored"), 422)
