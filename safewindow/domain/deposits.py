"""A deposit that holds a visit: the amount the clinic asked when the visit was booked, and what its staff have
recorded of it since. The money itself moves at the clinic's card terminal, till or bank (safewindow takes no
payments); this is the ledger, and what is left to do with each deposit.

The policy is the one medspas publish with their cancellation policy: a deposit counts toward the visit once it
has happened; a visit cancelled in time has its deposit refunded; one cancelled within the clinic's notice for
changes, or not attended, lets the clinic keep it. Staff may waive a deposit not yet taken (with a reason), and
may refund one the clinic kept (goodwill). Entries are never changed: each is a step, and the last one says
where the deposit stands."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from safewindow.domain.availability import notice_in_words

LARGEST_CENTS = 1_000_000  # $10,000: a typing bound on a deposit's amount, not a policy


class Step(StrEnum):
    """What staff record of a deposit."""

    TAKEN = "taken"  # the patient paid it
    APPLIED = "applied"  # counted toward the visit, which happened
    REFUNDED = "refunded"  # paid back
    KEPT = "kept"  # kept by the clinic: cancelled late, or not attended
    WAIVED = "waived"  # not asked after all


class State(StrEnum):
    NONE = "none"  # the visit needs no deposit
    DUE = "due"  # asked, not yet taken
    HELD = "held"  # taken, not yet settled
    APPLIED = "applied"
    REFUNDED = "refunded"
    KEPT = "kept"
    WAIVED = "waived"


class Todo(StrEnum):
    """What the front desk should do next."""

    TAKE = "take"  # a booked visit whose deposit is due
    APPLY = "apply"  # the visit happened: count the deposit toward it
    REFUND = "refund"  # cancelled in time: pay it back
    KEEP = "keep"  # cancelled late or not attended: the clinic may keep it (or refund it, its choice)


METHODS = ("card", "cash", "e-transfer", "other")  # how money changed hands, for TAKEN and REFUNDED
_DOLLARS = re.compile(r"\$?(\d{1,9})(?:\.(\d{1,2}))?")
_SETTLED = {Step.APPLIED: State.APPLIED, Step.REFUNDED: State.REFUNDED, Step.KEPT: State.KEPT}


@dataclass(frozen=True, slots=True)
class Visit:
    """What the policy needs of the visit a deposit holds: its status (booked, completed, cancelled, no-show)
    and whether it was cancelled within its clinic's notice for changes."""

    status: str
    cancelled_late: bool = False

    @property
    def forfeits(self) -> bool:
        """Whether the clinic may keep the deposit."""
        return self.status == "no-show" or (self.status == "cancelled" and self.cancelled_late)


def dollars(cents: int) -> str:
    """An amount as the clinic writes it: $50.00."""
    return f"${cents // 100:,}.{cents % 100:02}"


def cents_of(typed: str) -> int | None:
    """An amount typed in dollars (50, 50.5, $1,075.00) in cents; None when it is not one."""
    found = _DOLLARS.fullmatch(typed.replace(",", "").strip())
    if found is None:
        return None
    whole, part = found.groups()
    return int(whole) * 100 + int((part or "0").ljust(2, "0"))


def terms(clinic: str, cents: int, change_notice: timedelta) -> str:
    """The policy as the patient reads it before booking and in the booked notice: `change_notice` is the
    clinic's notice for changes, within which a cancellation forfeits the deposit."""
    asked = f"{clinic} asks a {dollars(cents)} deposit to hold this visit; the clinic will contact you to take it."
    if change_notice:
        missed = f"cancelled less than {notice_in_words(change_notice)} before it begins, or missed"
    else:
        missed = "missed"
    settled = "otherwise it counts toward your visit, or is refunded if you cancel."
    return f"{asked} If the visit is {missed}, the clinic may keep it; {settled}"


def state(amount_cents: int, steps: Sequence[Step]) -> State:
    """Where a deposit of `amount_cents` stands after `steps`, in the order they were recorded."""
    if not steps:
        return State.DUE if amount_cents > 0 else State.NONE
    last = steps[-1]
    if last is Step.TAKEN:
        return State.HELD
    if last is Step.WAIVED:
        return State.WAIVED
    return _SETTLED[last]


def todo(now: State, visit: Visit) -> Todo | None:
    """What is left to do with a deposit that stands `now`, for `visit`; None when nothing is."""
    if now is State.DUE:
        return Todo.TAKE if visit.status == "booked" else None  # never taken, nothing to settle
    if now is not State.HELD:
        return None
    if visit.status == "completed":
        return Todo.APPLY
    if visit.forfeits:
        return Todo.KEEP
    if visit.status == "cancelled":
        return Todo.REFUND
    return None  # booked: it holds the visit


def allowed(now: State, visit: Visit) -> tuple[Step, ...]:
    """The steps that may be recorded of a deposit that stands `now`, for `visit`."""
    return tuple(step for step in Step if problem(now, step, visit) is None)


def problem(now: State, step: Step, visit: Visit) -> str | None:
    """Why `step` cannot be recorded of a deposit that stands `now`, for `visit`; None when it can."""
    if now is State.NONE:
        return "this visit needs no deposit"
    if step is Step.TAKEN:
        if now is not State.DUE:
            return f"the deposit is {now}, not due"
        return None if visit.status == "booked" else f"the visit is {visit.status}: a deposit holds a booked visit"
    if step is Step.WAIVED:
        return None if now is State.DUE else f"the deposit is {now}: only one not yet taken can be waived"
    if step is Step.REFUNDED:
        return None if now in (State.HELD, State.KEPT) else f"the deposit is {now}: only one taken can be refunded"
    if now is not State.HELD:
        return f"the deposit is {now}, not held"
    if step is Step.APPLIED:
        return None if visit.status == "completed" else f"the visit is {visit.status}, not completed"
    if not visit.forfeits:  # KEPT
        return (
            f"the visit is {visit.status}: a deposit is kept only when the visit was cancelled within the "
            "clinic's notice for changes, or not attended"
        )
    return None
