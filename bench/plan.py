"""Median milliseconds to plan a 6-visit journey on the demo calendar (Fraser Valley Skin Studio, clinic 1, from
the demo data in a temporary SQLite file): microneedling x3, Botox, its touch-up, and filler, for a new patient,
over a 90-day horizon; then over 180 and 365 days, to show how the time grows with the horizon.

"plan" is `safewindow.domain.planning.plan`: the advisor per candidate day, the CP-SAT model, its solve to a
proven optimum, and the advisor's check of every visit. "slots" is the rule-aware slot finder producing the
candidates (what `services.plans.propose_plan` runs before it). Target: plan under 100 ms at 90 days, optimal.

Reproduce: .venv/bin/python bench/plan.py"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.domain.availability import BookingPolicy
from safewindow.domain.intervals import Interval
from safewindow.domain.plan_requests import PlanRequest, PlanStatus
from safewindow.domain.plan_templates import PlanStep, PlanTemplate, Spacing
from safewindow.domain.planning import plan
from safewindow.domain.slots import Patient, Slot, SlotRequest, find_slots
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.clinic_view import ClinicView, load_clinic
from safewindow.store import migrate
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork

NOW = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)  # Monday 4 Jan 2027, 09:00 in Abbotsford
TODAY = date(2027, 1, 4)
ROUNDS = 10
HORIZONS = (90, 180, 365)
SIX_VISITS = PlanTemplate(
    "bench-six-visits",
    "Microneedling series, Botox with its touch-up, and filler",
    "six visits: the series, then Botox and filler on one trip, then the two-week touch-up",
    False,
    (
        PlanStep("microneedling", 3, between=Spacing(28, (28, 42))),
        PlanStep("botox", after_previous=Spacing(14, (14, 28))),
        PlanStep("botox-touch-up", after_previous=Spacing(14, (14, 28))),
        PlanStep("dermal-filler"),
    ),
)


def demo_clinic() -> ClinicView:
    directory = Path(tempfile.mkdtemp(prefix="safewindow-bench-"))
    url = f"sqlite:///{directory / 'demo.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with UnitOfWork(sessions, write=True) as uow:
        load_demo(uow.session)
        uow.commit()
    with UnitOfWork(sessions) as uow:
        view = load_clinic(uow.session, 1, Interval(NOW - timedelta(days=2), NOW + timedelta(days=max(HORIZONS) + 2)))
    engine.dispose()
    return view


def candidates(view: ClinicView, horizon: int) -> list[list[Slot]]:
    kb = default_knowledge_base()
    found = []
    for step in SIX_VISITS.steps:
        request = SlotRequest(
            clinic=view.clinic,
            treatment=view.offered[step.treatment],
            practitioners=view.practitioners,
            now=NOW,
            policy=BookingPolicy(horizon_days=horizon),
            limit=1_000_000,
            patient=Patient(),
            knowledge=kb,
        )
        found.append(find_slots(request))
    return found


def main() -> None:
    kb = default_knowledge_base()
    view = demo_clinic()
    print(f"6-visit plan on the demo calendar (clinic 1, Tue-Sat), from {TODAY}, {ROUNDS} rounds each")
    print(f"{'horizon':>8} {'slots':>7} {'slots ms':>9} {'plan ms':>8} {'p90 ms':>7}  status, last visit")
    first_median = None
    for horizon in HORIZONS:
        slot_times, plan_times = [], []
        result = None
        slots: list[list[Slot]] = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            slots = candidates(view, horizon)
            slot_times.append((time.perf_counter() - started) * 1000)
            request = PlanRequest(SIX_VISITS, kb, TODAY, view.zone, treatments=view.offered, time_limit_s=30)
            started = time.perf_counter()
            result = plan(request, slots)
            plan_times.append((time.perf_counter() - started) * 1000)
        assert result is not None
        median = statistics.median(plan_times)
        first_median = first_median or median
        p90 = statistics.quantiles(plan_times, n=10)[-1]
        last = max(v.day for v in result.visits) if result.visits else "-"
        print(
            f"{horizon:>7}d {sum(map(len, slots)):>7} {statistics.median(slot_times):>9.1f} {median:>8.1f} "
            f"{p90:>7.1f}  {result.status}, {last} (x{median / first_median:.1f} the 90-day time)"
        )
        if horizon == HORIZONS[0] and result.status is not PlanStatus.OPTIMAL:
            sys.exit(f"expected a proven optimum at {horizon} days, got {result.status}: {result.explanation}")
    print("Reproduce: .venv/bin/python bench/plan.py")


if __name__ == "__main__":
    main()
