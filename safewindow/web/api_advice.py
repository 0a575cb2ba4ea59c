"""The REST API under /api/v1: advice, and the knowledge base's treatments, factors, rules and articles.

Each answer is the same JSON the CLI prints with --json: `Advice.as_dict()` and the same rows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.catalogue import factor_row, rule_as_dict, treatment_row
from safewindow.web.api_models import (
    AdviceOut,
    ArticleOut,
    ArticleSummary,
    FactorRow,
    Ping,
    Problems,
    RulesOut,
    TreatmentRow,
)
from safewindow.web.asking import Question, ask_question, history_from, quoted
from safewindow.web.dependencies import TodayDep, knowledge_base
from safewindow.web.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["api"], responses={422: {"model": Problems, "description": "Bad input"}})


class AdviceQuery(BaseModel):
    """The question, as query parameters. One model rather than four parameters: FastAPI reads it in one pass."""

    treatment: str = Field(description="The treatment wanted.", examples=["botox"])
    history: list[str] = Field(
        default_factory=list,
        description="A past or booked visit, SLUG@YYYY-MM-DD; repeat, or separate several with commas.",
        examples=[["microneedling@2026-11-10"]],
    )
    factor: list[str] = Field(default_factory=list, description="A personal factor id; repeat.")
    on: str | None = Field(default=None, description="A proposed date, YYYY-MM-DD, to judge.")


@router.get("/advice", response_model=AdviceOut, summary="When can this patient have the treatment?")
async def advice(request: Request, today: TodayDep, query: Annotated[AdviceQuery, Query()]) -> JSONResponse:
    """The earliest safe date, the ideal window and every reason with its rule, evidence level and source:
    exactly what `safewindow when --json` prints. `verdict` appears only with `on`. A qualified practitioner
    makes the final decision."""
    question = Question(query.treatment, history_from(query.history), query.factor, query.on)
    return JSONResponse(ask_question(knowledge_base(request), question, today=today).as_dict())


@router.get("/treatments", response_model=list[TreatmentRow], summary="The treatments in the knowledge base")
async def treatments(request: Request) -> JSONResponse:
    kb = knowledge_base(request)
    return JSONResponse([treatment_row(t) for t in kb.treatments.values()])


@router.get("/factors", response_model=list[FactorRow], summary="Personal factors and contraindications")
async def factors(request: Request) -> JSONResponse:
    kb = knowledge_base(request)
    return JSONResponse([factor_row(f) for f in kb.factors.values()])


@router.get("/rules", response_model=RulesOut, summary="Interval rules and session limits, with their sources")
async def rules(request: Request) -> JSONResponse:
    kb = knowledge_base(request)
    return JSONResponse({"version": kb.version, "rules": [rule_as_dict(rule) for rule in kb.all_rules()]})


def _article_summary(kb: KnowledgeBase, slug: str) -> dict[str, Any]:
    article = kb.articles[slug]
    return {
        "slug": article.slug,
        "title": article.title,
        "summary": article.summary,
        "treatments": list(article.treatments),
        "sources": list(article.sources),
    }


@router.get("/articles", response_model=list[ArticleSummary], summary="Patient articles")
async def articles(request: Request) -> JSONResponse:
    kb = knowledge_base(request)
    return JSONResponse([_article_summary(kb, slug) for slug in kb.articles])


@router.get(
    "/articles/{slug}",
    response_model=ArticleOut,
    responses={404: {"model": Problems, "description": "No such article"}},
    summary="One patient article, its body in Markdown",
)
async def article(request: Request, slug: str) -> JSONResponse:
    kb = knowledge_base(request)
    if slug not in kb.articles:
        raise NotFound("slug", f"no article {quoted(slug)}")
    return JSONResponse({**_article_summary(kb, slug), "body": kb.articles[slug].body})


@router.get("/ping", response_model=Ping, summary="Answers without touching the knowledge base")
async def ping() -> JSONResponse:
    return JSONResponse({"ok": True})
