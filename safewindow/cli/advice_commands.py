"""`safewindow when`, `treatments`, `factors`, `rules`, `rules check`: the knowledge base and the advisor."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from safewindow.cli.output import bad_input_exits, console, fail, print_json
from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.advice import Advice, Severity, span_range
from safewindow.domain.consistency import check
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.advice import ask, parse_day
from safewindow.services.catalogue import FINAL_WORD, factor_row, rule_as_dict, treatment_row

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
rules_app = typer.Typer(help="The timing rules, and the proof that they hang together.", no_args_is_help=False)


def when(
    treatment: Annotated[str, typer.Argument(help="The treatment wanted, e.g. botox.")],
    history: Annotated[
        list[str] | None,
        typer.Option("--history", help="A past or booked visit, SLUG@YYYY-MM-DD; repeat or separate with commas."),
    ] = None,
    factor: Annotated[list[str] | None, typer.Option("--factor", help="A personal factor id; repeat.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="A proposed date, YYYY-MM-DD, to judge.")] = None,
    today: Annotated[str | None, typer.Option("--today", hidden=True, help="Pretend today is this date.")] = None,
    zone: Annotated[str, typer.Option("--zone", help="The clinic's time zone.")] = "America/Vancouver",
    as_json: JsonFlag = False,
) -> None:
    """When can this patient have TREATMENT? Earliest safe date, ideal window, and every reason with its source."""
    kb = default_knowledge_base()
    with bad_input_exits():
        try:
            tz = clinic_zone(zone)
        except ValueError as error:
            fail(f"--zone: {error}")
        day = parse_day(today, "today") if today else clinic_today(tz)
        advice = ask(kb, treatment, history or [], factor or [], today=day, on=on)
    if as_json:
        print_json(advice.as_dict())
    else:
        _render(advice, kb)


def _render(advice: Advice, kb: KnowledgeBase) -> None:
    name = kb.treatments[advice.treatment].name
    lines = []
    if not advice.allowed:
        lines.append(f"[bold red]{name} is not advised[/] with these factors.")
    else:
        lines.append(f"Earliest safe date: [bold]{advice.earliest}[/]  (bookable from {advice.earliest_bookable})")
        if advice.ideal_start:
            lines.append(f"Ideal window: [bold green]{advice.ideal_start} to {advice.ideal_end}[/]")
        else:
            lines.append("Ideal window: none applies (see the reasons)")
    if advice.verdict:
        colour = {"ok": "green", "warn": "yellow", "block": "red"}[advice.verdict]
        lines.append(f"Proposed date: [bold {colour}]{advice.verdict}[/]")
    console.print(Panel("\n".join(lines), title=f"When can I get {name}?", expand=False))
    if advice.reasons:
        table = Table("severity", "rule", "why", "evidence / source", show_lines=True)
        colours = {Severity.BLOCK: "red", Severity.WARN: "yellow", Severity.INFO: "cyan"}
        for reason in advice.reasons:
            table.add_row(
                f"[{colours[reason.severity]}]{reason.severity}[/] ({reason.kind})",
                reason.rule,
                reason.message,
                cite(reason.evidence, reason.source),
            )
        console.print(table)
    console.print(f"[italic]{FINAL_WORD}[/]")


def cite(evidence: str, source: str) -> str:
    """'practice: common clinic protocol' rather than 'practice: practice: common clinic protocol'."""
    return source if source.startswith(f"{evidence}:") else f"{evidence}: {source}"


def treatments(as_json: JsonFlag = False) -> None:
    """The treatments in the knowledge base."""
    kb = default_knowledge_base()
    rows = [treatment_row(t) for t in kb.treatments.values()]
    if as_json:
        print_json(rows)
        return
    table = Table("slug", "name", "category", "breaks skin", "prescriber", "minutes")
    for t in kb.treatments.values():
        table.add_row(
            t.slug, t.name, t.category, "yes" if t.breaks_skin else "no", str(t.prescriber), str(t.duration_minutes)
        )
    console.print(table)


def factors(as_json: JsonFlag = False) -> None:
    """Personal factors and contraindications, with the question each one asks."""
    kb = default_knowledge_base()
    rows = [factor_row(f) for f in kb.factors.values()]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "question", "effects")
    for factor in kb.factors.values():
        effects = "; ".join(
            f"{e.effect} {', '.join(sorted(e.treatments)) if e.treatments else f'+{e.days} days'}"
            for e in factor.effects
        )
        table.add_row(factor.id, factor.question, effects)
    console.print(table)


@rules_app.callback(invoke_without_command=True)
def rules(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The interval rules and session limits, each with its evidence level and source."""
    if ctx.invoked_subcommand is not None:
        return
    kb = default_knowledge_base()
    rows = [rule_as_dict(rule) for rule in kb.all_rules()]
    if as_json:
        print_json({"version": kb.version, "rules": rows})
        return
    table = Table("id", "from -> to", "min", "ideal", "kind", "evidence", title=f"Knowledge base {kb.version}")
    for rule in kb.rules:
        ideal = span_range(*rule.ideal) if rule.ideal else "-"
        table.add_row(
            rule.id,
            f"{', '.join(sorted(rule.after))} -> {', '.join(sorted(rule.before))}",
            str(rule.minimum),
            ideal,
            str(rule.kind),
            str(rule.evidence),
        )
    for limit in kb.limits:
        table.add_row(
            limit.id,
            limit.treatment,
            f"at most {limit.max_sessions}",
            "-",
            str(limit.kind),
            str(limit.evidence),
        )
    console.print(table)


@rules_app.command("check")
def rules_check() -> None:
    """Prove the knowledge base consistent: sources, slugs, and no contradiction along any chain of rules."""
    kb = default_knowledge_base()  # loading already proves every file valid and every slug known
    problems = check(kb)
    for problem in problems:
        label = "[red]contradiction[/]" if problem.contradiction else "[yellow]note[/]"
        console.print(f"{label} {problem}", soft_wrap=True)
    if any(problem.contradiction for problem in problems):
        raise typer.Exit(1)
    console.print(
        f"Knowledge base {kb.version} is consistent: {len(kb.treatments)} treatments, "
        f"{len(kb.rules)} interval rules, {len(kb.limits)} limits, {len(kb.factors)} factors, "
        f"{len(kb.articles)} articles; every rule has a source, no chain of rules contradicts another."
    )


def register(app: typer.Typer) -> None:
    app.command()(when)
    app.command()(treatments)
    app.command()(factors)
    app.add_typer(rules_app, name="rules")
