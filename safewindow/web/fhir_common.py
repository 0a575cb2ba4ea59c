"""What every FHIR route shares: answers in `application/fhir+json`, every error as an OperationOutcome (the app's
own handlers would answer HTML outside /api), search parameters read strictly, and the clock.

`FhirRoute` wraps each route's handler, dependencies included, so a refused sign-in, a record that is not the
caller's, bad input, a refused booking or an unexpected exception all come back as an OperationOutcome with
the right status. An unexpected one is logged like web/errors.CatchAll does: type, method, path and stack,
never its message or the query string (either may hold health data)."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fhir.resources.R4B.resource import Resource
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from safewindow.services.booking import Refused
from safewindow.services.errors import InputError, NotFound
from safewindow.services.fhir_values import Issue, operation_outcome, searchset

log = logging.getLogger("safewindow.web")
FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir/R4"
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
COMMON_PARAMETERS = frozenset({"_format", "_count", "_offset"})
DEFAULT_COUNT, MAX_COUNT = 50, 200
HTTP_CODES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 406: "not-supported"}


class FhirError(Exception):
    def __init__(
        self, status: int, code: str, diagnostics: str, expression: str | None = None, more: Sequence[Issue] = ()
    ) -> None:
        self.status, self.issues = status, [Issue(code, diagnostics, expression=expression), *more]
        super().__init__(diagnostics)


def not_found(kind: str, ident: str) -> FhirError:
    # The same answer for a record that does not exist and one that is not the caller's: an id tells nothing.
    return FhirError(404, "not-found", f"no {kind} {ident}")


def fhir_response(resource: Resource, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(resource.model_dump_json(exclude_none=True), status, headers, media_type=FHIR_JSON)


def outcome(status: int, issues: Sequence[Issue], headers: dict[str, str] | None = None) -> Response:
    return fhir_response(operation_outcome(issues), status, headers)


def _problems(detail: object) -> str:
    if isinstance(detail, list):
        return "; ".join(f"{d.get('field')}: {d.get('problem')}" for d in detail if isinstance(d, dict))
    return str(detail)


def _refused(error: Refused) -> Response:
    issues = [
        Issue(
            "business-rule",
            problem.message,
            detail_code=problem.code,
            detail_text=", ".join(
                f"{name} {value}"
                for name, value in (("kind", problem.kind), ("evidence", problem.evidence), ("source", problem.source))
                if value
            )
            or None,
        )
        for problem in error.problems
    ]
    return outcome(409, issues)


def _answer_error(request: Request, error: Exception) -> Response:
    creating = request.method == "POST"
    if isinstance(error, FhirError):
        return outcome(error.status, error.issues)
    if isinstance(error, Refused):
        return _refused(error)
    if isinstance(error, NotFound) and not creating:
        return outcome(404, [Issue("not-found", error.problem, expression=error.field)])
    if isinstance(error, InputError):
        return outcome(422 if creating else 400, [Issue("invalid", f"{error.field}: {error.problem}")])
    if isinstance(error, RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in error.errors()]
        return outcome(400, [Issue("invalid", p) for p in problems] or [Issue("invalid", "bad request")])
    if isinstance(error, HTTPException):
        code = HTTP_CODES.get(error.status_code, "processing")
        headers = dict(error.headers) if error.headers else None
        return outcome(error.status_code, [Issue(code, _problems(error.detail))], headers)
    log.error(
        "unhandled %s in %s %s\n%s",
        type(error).__name__,
        request.method,
        request.url.path,
        "".join(traceback.format_tb(error.__traceback__)).rstrip(),
    )
    return outcome(500, [Issue("exception", "something went wrong on our side; it has been logged")])


class FhirRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            wanted = request.query_params.get("_format")
            if wanted is not None and wanted not in JSON_FORMATS:
                return outcome(406, [Issue("not-supported", "this server speaks JSON only (_format=json)")])
            try:
                return await handler(request)
            except Exception as error:
                return _answer_error(request, error)

        return answer


def base_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{PREFIX}"


# --- Search parameters ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bounds:
    """Instants from `lower` (inclusive) to `upper` (exclusive); None is open."""

    lower: datetime | None = None
    upper: datetime | None = None

    def narrowed(self, lower: datetime | None, upper: datetime | None) -> Bounds:
        new_lower = max(filter(None, (self.lower, lower)), default=None)
        new_upper = min(filter(None, (self.upper, upper)), default=None)
        return Bounds(new_lower, new_upper)


DATE_VALUE = re.compile(r"(eq|lt|le|gt|ge)?(\d{4}(?:-\d{2}(?:-\d{2})?)?)(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}))?")


def _period_of(day_text: str, clock: str | None, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The stretch of time a date value means: a year, month or day on the clinic's calendar, or an instant."""
    if clock:
        instant = datetime.fromisoformat(day_text + clock.replace("Z", "+00:00")).astimezone(UTC)
        return instant, instant + timedelta(seconds=1)
    parts = [int(p) for p in day_text.split("-")]
    first = date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    if len(parts) == 3:
        after = first + timedelta(days=1)
    elif len(parts) == 2:
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    else:
        after = date(first.year + 1, 1, 1)
    return (
        datetime.combine(first, time(), tzinfo=zone).astimezone(UTC),
        datetime.combine(after, time(), tzinfo=zone).astimezone(UTC),
    )


class SearchParameters:
    """The query string of a search: an unknown parameter or modifier is refused, not ignored, so a misspelt
    filter cannot return more than was asked for."""

    def __init__(self, request: Request, known: Sequence[str]) -> None:
        self.request = request
        self.items = [(k, v) for k, v in request.query_params.multi_items()]
        unknown = sorted({k for k, _ in self.items} - set(known) - COMMON_PARAMETERS)
        if unknown:
            raise FhirError(400, "not-supported", f"unknown search parameter {unknown[0]!r}; see /fhir/R4/metadata")

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.items if k == name]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        if len(values) > 1:
            raise FhirError(400, "invalid", f"{name} may be given once")
        if values and not values[0].strip():
            raise FhirError(400, "invalid", f"{name} is empty")
        return values[0].strip() if values else None

    def _number(self, name: str, default: int, maximum: int) -> int:
        value = self.one(name)
        if value is None:
            return default
        if not value.isdigit() or len(value) > 6:
            raise FhirError(400, "invalid", f"{name} must be a whole number from 0")
        return min(int(value), maximum)

    def count(self, default: int = DEFAULT_COUNT, maximum: int = MAX_COUNT) -> int:
        return self._number("_count", default, maximum)

    def offset(self) -> int:
        return self._number("_offset", 0, 10**6)

    def ids(self, name: str = "_id") -> list[int] | None:
        """`_id=1,2`: None when absent; ids that are not ours match nothing."""
        value = self.one(name)
        if value is None:
            return None
        return [int(part) for part in value.split(",") if part.strip().isdigit() and len(part.strip()) < 19]

    def reference(self, name: str, kind: str) -> int | None:
        """`patient=Patient/1`, `patient=1` or a full URL ending in Patient/1."""
        value = self.one(name)
        if value is None:
            return None
        found = re.fullmatch(rf"(?:(?:.*/)?{kind}/)?(\d{{1,18}})", value)
        if found is None:
            raise FhirError(400, "invalid", f"{name}: {value!r} is not a {kind} reference such as {kind}/1")
        return int(found[1])

    def tokens(self, name: str, system: str | None = None) -> list[str] | None:
        """`service-type=botox,system|dermal-filler`: codes, any one of which matches."""
        value = self.one(name)
        if value is None:
            return None
        codes = []
        for part in value.split(","):
            given_system, bar, code = part.strip().rpartition("|")
            if bar and system is not None and given_system not in ("", system):
                raise FhirError(400, "invalid", f"{name}: unknown code system {given_system!r}")
            codes.append(code)
        return codes

    def dates(self, name: str, zone: ZoneInfo) -> Bounds:
        """`date=ge2026-12-01&date=lt2026-12-15`: eq (the default), lt, le, gt and ge, each a date (a day on the
        clinic's calendar), a month, a year or an instant with its offset."""
        bounds = Bounds()
        for value in self.all(name):
            found = DATE_VALUE.fullmatch(value.strip())
            try:
                if found is None:
                    raise ValueError(value)
                start, end = _period_of(found[2], found[3], zone)
            except ValueError:
                raise FhirError(400, "invalid", f"{name}: {value!r} is not a date such as ge2026-12-01") from None
            prefix = found[1] or "eq"
            lower, upper = {
                "eq": (start, end),
                "lt": (None, start),
                "le": (None, end),
                "gt": (end, None),
                "ge": (start, None),
            }[prefix]
            bounds = bounds.narrowed(lower, upper)
        return bounds

    def page_url(self, offset: int) -> str:
        kept = [(k, v) for k, v in self.items if k != "_offset"] + [("_offset", str(offset))]
        return str(self.request.url.replace(query=urlencode(kept)))


def search_answer(
    request: Request,
    parameters: SearchParameters,
    resources: Sequence[Resource],
    *,
    total: int | None,
    offset: int = 0,
) -> Response:
    more = total is not None and offset + len(resources) < total
    next_url = parameters.page_url(offset + len(resources)) if more else None
    bundle = searchset(base_url(request), resources, total=total, self_url=str(request.url), next_url=next_url)
    return fhir_response(bundle)


def paged(session: Session, query: Select[Any], parameters: SearchParameters) -> tuple[list[Any], int, int]:
    """One page of the query's rows (its `_count` from `_offset`), the number of all matches, and the offset."""
    count, offset = parameters.count(), parameters.offset()
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.offset(offset).limit(count))) if count else []
    return rows, total, offset


def id_from_path(ident: str, kind: str) -> int:
    if not ident.isdigit() or len(ident) > 18:
        raise not_found(kind, ident)
    return int(ident)


def words_start_with(column: Any, text: str) -> Any:
    """FHIR string search: any word of the value starts with the text, ignoring case."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(column.ilike(f"{escaped}%", escape="\\"), column.ilike(f"% {escaped}%", escape="\\"))
