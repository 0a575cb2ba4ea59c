"""One attempt at sending something from an outbox (an e-mail, a webhook delivery), as both workers count it.

A claimed row records the attempt before anything is sent and is due again after a backoff: if the worker dies
mid-send, the row is tried again later, and the claim it still holds says the last outcome is unknown."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

log = logging.getLogger("safewindow.worker")


class Attempted(Protocol):
    id: int
    attempts: int
    claimed_at: datetime | None
    due_at: datetime


def begin_attempt(row: Attempted, now: datetime, backoff: Callable[[int], timedelta], what: str) -> bool:
    """Claim `row` for one more attempt; True when the attempt before it has no recorded outcome (in doubt).
    `what` names the row in the log: ids and counts only."""
    in_doubt = row.claimed_at is not None
    if in_doubt:
        log.warning("%s %s: attempt %s has no recorded outcome; sending again", what, row.id, row.attempts)
    row.attempts += 1
    row.claimed_at = now
    row.due_at = now + backoff(row.attempts)
    return in_doubt
