"""Every error becomes the same thing: under /api, `{"detail": [{"field": ..., "problem": ...}]}` with a 4xx
(a 503 while the database is unavailable); on a page, an HTML page that says what went wrong. Nothing
unexpected becomes a traceback for the visitor, and nothing a visitor typed (health data travels in query
strings) reaches the log."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safewindow.services.errors import FieldProblems, InputError
from safewindow.web.asking import InputErrors
from safewindow.web.templating import templates

log = logging.getLogger("safewindow.web")
API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 30
# PostgreSQL's codes for a table or column the code expects and the database lacks: a database not upgraded.
SCHEMA_BEHIND = {"42P01", "42703"}


class NotFound(LookupError):
    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


def problems_body(problems: Sequence[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    return {"detail": [{"field": field, "problem": problem} for field, problem in problems]}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX) or request.url.path == "/openapi.json"


def _answer(
    request: Request, status: int, problems: Sequence[tuple[str, str]], headers: Mapping[str, str] | None = None
) -> Response:
    if _is_api(request):
        return JSONResponse(problems_body(problems), status_code=status, headers=headers)
    title = {404: "Page not found", 405: "Not allowed", 503: "Temporarily unavailable"}.get(
        status, "Something is wrong with the request"
    )
    context = {"title": title, "status": status, "problems": problems}
    return templates.TemplateResponse(request, "error.html", context, status_code=status, headers=headers)


async def _input_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, InputError)
    problems = error.problems if isinstance(error, FieldProblems) else [(error.field, error.problem)]
    return _answer(request, 422 if _is_api(request) else 400, problems)


async def _input_errors(request: Request, error: Exception) -> Response:
    assert isinstance(error, InputErrors)
    problems = [(e.field, e.problem) for e in error.errors]
    return _answer(request, 422 if _is_api(request) else 400, problems)


async def _not_found(request: Request, error: Exception) -> Response:
    assert isinstance(error, NotFound)
    return _answer(request, 404, [(error.field, error.problem)])


async def _validation_error(request: Request, error: Exception) -> Response:
    """FastAPI's own validation errors, in the same shape as ours."""
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        # The first part says where (query, path, body, header); a field may itself be called `body`.
        loc = list(item.get("loc", ()))
        names = [str(part) for part in (loc[1:] if loc and loc[0] in ("query", "path", "body", "header") else loc)]
        problem = "is required" if item.get("type") == "missing" else str(item.get("msg", "is not valid"))
        problems.append((names[0] if names else "request", problem))
    return _answer(request, 422 if _is_api(request) else 400, problems)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if isinstance(error.detail, list) and all(
        isinstance(d, dict) and {"field", "problem"} <= set(d) for d in error.detail
    ):
        # Raised with our own shape (auth: "sign in first", "a front-desk may not do this"): said as it is.
        problems = [(str(d["field"]), str(d["problem"])) for d in error.detail]
        return _answer(request, error.status_code, problems, headers=error.headers)
    field = {404: "path", 405: "method"}.get(error.status_code, "request")
    problem = error.detail if isinstance(error.detail, str) else "the request was refused"
    return _answer(request, error.status_code, [(field, problem.lower())], headers=error.headers)


async def _store_unavailable(request: Request, error: Exception) -> Response:
    """The database cannot be reached, is busy past its timeout, or is behind the code (not upgraded): a 503 the
    visitor may retry, not a 500. A mistake in a statement is still a 500. The log names the error's type, never
    its message: that holds the statement's parameters, and they may be a patient's."""
    assert isinstance(error, DBAPIError)
    if isinstance(error, ProgrammingError) and getattr(error.orig, "sqlstate", None) not in SCHEMA_BEHIND:
        raise error
    log.error(
        "store unavailable: %s (%s) in %s %s",
        type(error).__name__,
        type(error.orig).__name__,
        request.method,
        request.url.path,
    )
    problem = "the booking system's database is unavailable right now; please try again in a few minutes"
    return _answer(request, 503, [("server", problem)], headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def register(app: FastAPI) -> None:
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(InputErrors, _input_errors)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OperationalError, _store_unavailable)
    app.add_exception_handler(ProgrammingError, _store_unavailable)


class CatchAll:
    """The last resort: an unexpected exception is logged with its type, the method, the path and the stack, never
    its message or the query string (either may hold a patient's history), and answered with a generic 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            log.error(
                "unhandled %s in %s %s\n%s",
                type(error).__name__,
                scope.get("method", "?"),
                scope.get("path", "?"),
                "".join(traceback.format_tb(error.__traceback__)).rstrip(),
            )
            if started:  # too late for a 500: the client sees the response cut short
                return
            await _server_error(scope)(scope, receive, send)


def _server_error(scope: Scope) -> Response:
    problem = "something went wrong on our side; it has been logged. Please try again later."
    if str(scope.get("path", "")).startswith(API_PREFIX):
        return JSONResponse(problems_body([("server", problem)]), status_code=500)
    # No template here: whatever failed might be the templates themselves.
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Sorry - safewindow</title>"
        "<link rel='stylesheet' href='/static/site.css'></head><body><main id='main'><h1>Sorry</h1>"
        "<p>Something went wrong on our side; it has been logged. Please try again later.</p>"
        "<p><a href='/'>Back to the start</a></p></main></body></html>",
        status_code=500,
    )
