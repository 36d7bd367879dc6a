"""Every error the API answers is `application/problem+json` (RFC 9457), mapped here
in one place from the packages' exception hierarchies. No stack trace leaves."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from cmdb.errors import CMDBError, InvalidModel, NotFound, StoreUnavailable, UniquenessConflict
from rules.errors import RuleConfigError, RulesError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("opsgraph.api")


class Problem(Exception):
    """An error answer: status, short title, detail for a human, optional extras."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def problem_response(request: Request, status: int, title: str, detail: str,
                     **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": request.url.path, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def validation_problem(request: Request, errors: list[Any]) -> JSONResponse:
    """422 naming the fields: `errors[].loc` is the path into the body, dotted."""
    listed = [
        {"loc": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "msg": e.get("msg")}
        for e in errors
    ]
    first = listed[0] if listed else {"loc": "body", "msg": "invalid"}
    detail = f"{first['loc'] or 'body'}: {first['msg']}"
    return problem_response(request, 422, "Invalid request", detail, errors=listed)


_STATUS_FOR: tuple[tuple[type[Exception], int, str], ...] = (
    (StoreUnavailable, 503, "Store unavailable"),
    (NotFound, 404, "Not found"),
    (InvalidModel, 422, "Invalid model"),
    (UniquenessConflict, 409, "Conflict"),
    (RuleConfigError, 422, "Invalid rules"),
)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return problem_response(request, exc.status_code, _title(exc.status_code),
                                str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError
                                  ) -> JSONResponse:
        return validation_problem(request, list(exc.errors()))

    @app.exception_handler(ValidationError)
    async def _validation(request: Request, exc: ValidationError) -> JSONResponse:
        return validation_problem(request, list(exc.errors()))

    async def _domain(request: Request, exc: Exception) -> JSONResponse:
        for kind, status, title in _STATUS_FOR:
            if isinstance(exc, kind):
                if status == 503:
                    log.warning("store unavailable on %s: %s", request.url.path, exc)
                return problem_response(request, status, title, str(exc))
        return problem_response(request, 400, "Bad request", str(exc))

    # Domain errors are answers, not crashes: registered by class so Starlette handles
    # them in its exception middleware (a catch-all handler is re-raised and logged).
    app.add_exception_handler(CMDBError, _domain)
    app.add_exception_handler(RulesError, _domain)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "Internal error", "an unexpected error occurred")


def _title(status: int) -> str:
    return {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
            405: "Method not allowed", 413: "Payload too large",
            415: "Unsupported media type"}.get(status, "Error")
