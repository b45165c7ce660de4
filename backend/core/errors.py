"""One error shape for every response: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
