"""The deposit policy: which step may follow which, where a deposit then stands and what is left to do; and, for
any sequence of steps and visit changes, that the ledger the policy lets through keeps the clinic's promise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safewindow.domain.deposits import (
    State,
    Step,
    Todo,
    Visit,
    allowed,
    cents_of,
    dollars,
    problem,
    state,
    terms,
    todo,
)

BOOKED, COMPLETED, NO_SHOW = Visit("booked"), Visit("completed"), Visit("no-show")
IN_TIME, LATE = Visit("cancelled"), Visit("cancelled", cancelled_late=True)


def test_amounts_read_as_the_clinic_writes_them() -> None:
    assert [dollars(cents) for cents in (0, 5, 5000, 123456)] == ["$0.00", "$0.05", "$50.00", "$1,234.56"]


def test_a_deposit_stands_where_its_last_step_left_it() -> None:
    assert state(0, []) is State.NONE
    assert state(5000, []) is State.DUE
    assert state(5000, [Step.TAKEN]) is State.HELD
    assert state(5000, [Step.TAKEN, Step.KEPT]) is State.KEPT
    assert state(5000, [Step.TAKEN, Step.KEPT, Step.REFUNDED]) is State.REFUNDED
    assert state(5000, [Step.WAIVED]) is State.WAIVED
    assert state(5000, [Step.TAKEN, Step.APPLIED]) is State.APPLIED


@pytest.mark.parametrize(
    ("now", "visit", "expected"),
    [
        (State.DUE, BOOKED, Todo.TAKE),
        (State.DUE, COMPLETED, None),  # never taken: nothing to settle
        (State.DUE, LATE, None),
        (State.HELD, BOOKED, None),  # it holds the visit
        (State.HELD, COMPLETED, Todo.APPLY),
        (State.HELD, IN_TIME, Todo.REFUND),
        (State.HELD, LATE, Todo.KEEP),
        (State.HELD, NO_SHOW, Todo.KEEP),
        (State.KEPT, NO_SHOW, None),
        (State.REFUNDED, IN_TIME, None),
        (State.NONE, BOOKED, None),
    ],
)
def test_what_is_left_to_do(now: State, visit: Visit, expected: Todo | None) -> None:
    assert todo(now, visit) is expected


@pytest.mark.parametrize(
    ("now", "step", "visit", "refused_because"),
    [
        (State.NONE, Step.TAKEN, BOOKED, "needs no deposit"),
        (State.DUE, Step.TAKEN, BOOKED, None),
        (State.DUE, Step.TAKEN, IN_TIME, "a deposit holds a booked visit"),
        (State.HELD, Step.TAKEN, BOOKED, "held, not due"),
        (State.DUE, Step.WAIVED, BOOKED, None),
        (State.HELD, Step.WAIVED, BOOKED, "only one not yet taken can be waived"),
        (State.DUE, Step.APPLIED, COMPLETED, "due, not held"),
        (State.HELD, Step.APPLIED, BOOKED, "booked, not completed"),
        (State.HELD, Step.APPLIED, COMPLETED, None),
        (State.HELD, Step.KEPT, IN_TIME, "cancelled within the clinic's notice"),
        (State.HELD, Step.KEPT, BOOKED, "or not attended"),
        (State.HELD, Step.KEPT, LATE, None),
        (State.HELD, Step.KEPT, NO_SHOW, None),
        (State.HELD, Step.REFUNDED, BOOKED, None),  # the patient asked for it back: the visit is no longer held
        (State.KEPT, Step.REFUNDED, NO_SHOW, None),  # goodwill
        (State.APPLIED, Step.REFUNDED, COMPLETED, "only one taken can be refunded"),
        (State.DUE, Step.REFUNDED, IN_TIME, "only one taken can be refunded"),
    ],
)
def test_which_step_may_follow(now: State, step: Step, visit: Visit, refused_because: str | None) -> None:
    why = problem(now, step, visit)
    if refused_because is None:
        assert why is None
    else:
        assert why is not None and refused_because in why


VISITS = st.sampled_from([BOOKED, COMPLETED, NO_SHOW, IN_TIME, LATE])
ATTEMPTS = st.lists(st.tuples(st.sampled_from(list(Step)), VISITS), max_size=12)


@settings(max_examples=300, deadline=None)
@given(amount=st.sampled_from([0, 5000]), attempts=ATTEMPTS)
def test_any_ledger_the_policy_lets_through_keeps_the_clinics_promise(
    amount: int, attempts: list[tuple[Step, Visit]]
) -> None:
    """Steps tried in any order while the visit changes: the accepted ones take the money at most once, while
    the visit is booked; keep it only from a visit cancelled late or missed; count it toward a visit that
    happened; and a deposit left with something to do is never one already settled."""
    ledger: list[tuple[Step, Visit]] = []
    for step, visit in attempts:
        now = state(amount, [s for s, _ in ledger])
        if problem(now, step, visit) is None:
            ledger.append((step, visit))
    steps = [s for s, _ in ledger]
    if amount == 0:
        assert ledger == []
        return
    assert steps.count(Step.TAKEN) <= 1
    assert all(visit.status == "booked" for step, visit in ledger if step is Step.TAKEN)
    assert all(visit.forfeits for step, visit in ledger if step is Step.KEPT)
    assert all(visit.status == "completed" for step, visit in ledger if step is Step.APPLIED)
    for n, (step, _) in enumerate(ledger):
        if step in (Step.APPLIED, Step.KEPT, Step.REFUNDED):  # money settled: it was taken first
            assert Step.TAKEN in steps[:n]
        if step is Step.WAIVED:
            assert Step.TAKEN not in steps
    final = state(amount, steps)
    for visit in (BOOKED, COMPLETED, NO_SHOW, IN_TIME, LATE):
        if final in (State.APPLIED, State.REFUNDED, State.KEPT, State.WAIVED):
            assert todo(final, visit) is None


def test_the_terms_a_patient_reads_follow_the_clinics_notice_for_changes() -> None:
    with_notice = terms("Sumas Mountain Aesthetics", 5000, timedelta(hours=24))
    assert with_notice.startswith("Sumas Mountain Aesthetics asks a $50.00 deposit to hold this visit;")
    assert "cancelled less than 24 hours before it begins, or missed, the clinic may keep it" in with_notice
    assert "If the visit is missed, the clinic may keep it;" in terms("Mill Lake", 10000, timedelta(0))


def test_amounts_typed_in_dollars() -> None:
    typed = ["50", "50.5", "$1,075.00", " 0 ", "50.", "-5", "5e3", "1.234", ""]
    assert [cents_of(text) for text in typed] == [5000, 5050, 107500, 0, None, None, None, None, None]


def test_the_steps_allowed_are_those_the_policy_lets_through() -> None:
    assert allowed(State.DUE, BOOKED) == (Step.TAKEN, Step.WAIVED)
    assert allowed(State.HELD, NO_SHOW) == (Step.REFUNDED, Step.KEPT)
    assert allowed(State.APPLIED, COMPLETED) == ()
