"""Every error leaves the API as JSON {"detail": "<reason>"} with the contract's status code."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.middleware import INTERNAL_ERROR
from vidpipe.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    VidpipeError,
)

log = logging.getLogger(__name__)

_STATUS = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    TooManyRequests: 429,
    Unavailable: 503,
}


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query"))
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if error.get("type") == "json_invalid":
        return "request body is not valid JSON"
    if error.get("type") == "missing":
        return f"{where} is required" if where else "request body is required"
    return f"{where}: {message}" if where else message


def install(app: FastAPI) -> None:
    @app.exception_handler(VidpipeError)
    async def domain_error(_: Request, exc: VidpipeError) -> JSONResponse:
        status = next(code for cls, code in _STATUS.items() if isinstance(exc, cls))
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The contract asks for 400 (not FastAPI's 422) with one readable sentence.
        reasons = "; ".join(_describe(error) for error in exc.errors())
        return JSONResponse({"detail": reasons or "invalid request"}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    # The last resort, used by Starlette's outermost ServerErrorMiddleware should anything escape
    # api.middleware.InternalErrors (which answers the same body).
    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(INTERNAL_ERROR, status_code=500)

    @app.exception_handler(OperationalError)
    async def database_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        return JSONResponse({"detail": "database unavailable, try again later"}, status_code=503)
