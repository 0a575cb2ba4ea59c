"""How the pages put a deposit: where it stands and what is left to do, in the front desk's words and in the
patient's, and which steps the chart offers to record next. The policy (which step may follow which) is
domain/deposits.py; the chart offers exactly the steps it allows, the one its todo asks for first, and the
service checks again whatever is sent."""

from __future__ import annotations

from dataclasses import dataclass

from safewindow.domain.deposits import State, Step, Todo
from safewindow.services.deposits import Deposit

STATES = {
    State.DUE: "Due",
    State.HELD: "Held",
    State.APPLIED: "Counted toward the visit",
    State.REFUNDED: "Refunded",
    State.KEPT: "Kept by the clinic",
    State.WAIVED: "Waived",
}
TODOS = {
    Todo.TAKE: "Take the deposit",
    Todo.APPLY: "Count it toward the visit",
    Todo.REFUND: "Refund it: the visit was cancelled in time",
    Todo.KEEP: "Keep it or refund it: the visit was cancelled late or missed",
}
STEPS = {
    Step.TAKEN: "Taken",
    Step.APPLIED: "Counted toward the visit",
    Step.REFUNDED: "Refunded",
    Step.KEPT: "Kept",
    Step.WAIVED: "Waived",
}
DONE = {  # the chart's notice once a step is recorded: "The deposit for visit 12 is ..."
    Step.TAKEN: "taken: it holds the visit",
    Step.APPLIED: "counted toward the visit",
    Step.REFUNDED: "refunded",
    Step.KEPT: "kept by the clinic",
    Step.WAIVED: "waived",
}
# The steps a todo asks for; a deposit kept for a late cancellation or a no-show may as well be refunded.
ASKED = {
    Todo.TAKE: (Step.TAKEN,),
    Todo.APPLY: (Step.APPLIED,),
    Todo.REFUND: (Step.REFUNDED,),
    Todo.KEEP: (Step.KEPT, Step.REFUNDED),
}
HELD_FOR_PATIENT: dict[Todo | None, str] = {
    None: "Received: it holds your visit",
    Todo.APPLY: "Received: it will be counted toward your visit",
    Todo.REFUND: "Received: it will be refunded to you, as the visit was cancelled in time",
    Todo.KEEP: "Received: the clinic may keep it, as the visit was cancelled late or missed",
    Todo.TAKE: "Received",  # not reached: a held deposit is never to be taken
}
SETTLED_FOR_PATIENT = {
    State.APPLIED: "Counted toward your visit",
    State.REFUNDED: "Refunded to you",
    State.KEPT: "Kept by the clinic: the visit was cancelled late or missed",
    State.WAIVED: "Waived: nothing to pay",
}


@dataclass(frozen=True, slots=True)
class Offered:
    """The steps the chart offers for a deposit: those its todo asks for, and the others the policy allows
    (waiving one not taken, refunding one held or kept as goodwill), kept out of the way."""

    asked: tuple[Step, ...]
    others: tuple[Step, ...]


def offered(deposit: Deposit) -> Offered:
    asked = tuple(step for step in ASKED.get(deposit.todo, ()) if step in deposit.allowed) if deposit.todo else ()
    return Offered(asked, tuple(step for step in deposit.allowed if step not in asked))


def for_patient(deposit: Deposit, clinic: str) -> str:
    """Where the deposit stands, as the patient reads it on their own pages."""
    if deposit.state is State.DUE:
        taking = deposit.todo is Todo.TAKE  # a visit no longer booked needs none taken
        return f"Due: {clinic} will contact you to take it" if taking else "Not taken: nothing is owed"
    if deposit.state is State.HELD:
        return HELD_FOR_PATIENT[deposit.todo]
    return SETTLED_FOR_PATIENT.get(deposit.state, "")
