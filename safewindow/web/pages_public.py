"""The public pages: home, the "When can I get ...?" calculator, resources (articles) and the treatments.

The calculator is a GET form that works without JavaScript. Its route only pairs the form's rows into
`SLUG@YYYY-MM-DD` items and hands them to the advisor (web/asking.py, then services.advice.ask); the
template only shows what the advice says."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markdown_it import MarkdownIt

from safewindow.domain.advice import Severity
from safewindow.services.advice import parse_day
from safewindow.services.errors import InputError
from safewindow.web.asking import Question, ask_question, check_question, quoted
from safewindow.web.dependencies import TodayDep, knowledge_base, zone
from safewindow.web.errors import NotFound
from safewindow.web.templating import templates
from safewindow.web.when_form import no_ideal_window, rows_of, summary_line, with_errors

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
SEVERITY_ORDER = {Severity.BLOCK: 0, Severity.WARN: 1, Severity.INFO: 2}
# Articles are our own, but raw HTML in them would bypass autoescaping: CommonMark without it.
markdown = MarkdownIt("commonmark", {"html": False})


@router.get("/")
async def home(request: Request) -> Response:
    return templates.TemplateResponse(request, "home.html", {"page": "home"})


@router.get("/when")
async def when(
    request: Request,
    today: TodayDep,
    clinic: Annotated[ZoneInfo, Depends(zone)],
    treatment: str | None = None,
    history_treatment: Annotated[list[str] | None, Query()] = None,
    history_date: Annotated[list[str] | None, Query()] = None,
    factor: Annotated[list[str] | None, Query()] = None,
    on: str | None = None,
) -> Response:
    kb = knowledge_base(request)
    rows, problems = rows_of(history_treatment or [], history_date or [])
    proposed = on.strip() if on is not None and on.strip() else None
    context: dict[str, object] = {
        "page": "when",
        "kb": kb,
        "today": today,
        "zone": clinic.key,
        "treatment": (treatment or "").strip(),
        "factors": set(factor or []),
        "on": proposed or "",
        "advice": None,
    }
    status = 200
    if treatment is not None:  # the form was sent
        items = [(f"history-{r.index}", f"{r.treatment}@{r.day}") for r in rows if r.treatment and r.day]
        question = Question(treatment, items, factor or [], proposed)
        problems += check_question(kb, question)
        if not treatment.strip():
            problems = [InputError("treatment", "choose the treatment you would like")] + [
                p for p in problems if p.field != "treatment"
            ]
        problems.sort(key=lambda p: p.field != "treatment")  # stable: the rest keep the form's order
        if problems:
            status = 400
        else:
            advice = ask_question(kb, question, today=today)
            name = kb.treatments[advice.treatment].name
            context.update(
                advice=advice,
                name=name,
                no_ideal=None if advice.ideal_start else no_ideal_window(kb, advice, name),
                overridable=advice.overridable,
                # Blocks first, then warnings: what stops a booking is what a reader needs first.
                reasons=sorted(advice.reasons, key=lambda r: SEVERITY_ORDER[r.severity]),
                on_day=parse_day(proposed, "on") if proposed else None,
            )
    context["rows"] = with_errors(rows, problems)
    context["errors"] = {p.field: p.problem for p in problems if not p.field.startswith("history-")}
    context["summary"] = [summary_line(p) for p in problems]
    return templates.TemplateResponse(request, "when.html", context, status_code=status)


@router.get("/resources")
async def resources(request: Request) -> Response:
    kb = knowledge_base(request)
    return templates.TemplateResponse(request, "resources.html", {"page": "resources", "kb": kb})


def _without_title(body: str) -> str:
    """The page shows the title as its heading; a Markdown body that opens with the same '# Title' drops it."""
    first, _, rest = body.partition("\n")
    return rest.lstrip("\n") if first.startswith("# ") else body


@router.get("/resources/{slug}")
async def article(request: Request, slug: str) -> Response:
    kb = knowledge_base(request)
    found = kb.articles.get(slug)
    if found is None:
        raise NotFound("slug", f"there is no article called {quoted(slug)}")
    html = markdown.render(_without_title(found.body))
    context = {"page": "resources", "kb": kb, "article": found, "html": html}
    return templates.TemplateResponse(request, "article.html", context)


@router.get("/treatments")
async def treatments(request: Request) -> Response:
    kb = knowledge_base(request)
    return templates.TemplateResponse(request, "treatments.html", {"page": "treatments", "kb": kb})
