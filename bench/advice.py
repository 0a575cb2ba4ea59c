"""Median microseconds for one piece of advice on a 20-visit history, with the real knowledge base.

Reproduce: .venv/bin/python bench/advice.py   (or: make bench)"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import date, timedelta

from safewindow.domain.advice import advise
from safewindow.domain.history import PastVisit
from safewindow.knowledge.loader import default_knowledge_base

ROUNDS = 2_000


def history(kb_slugs: list[str], seed: int) -> list[PastVisit]:
    rng = random.Random(seed)
    start = date(2025, 1, 6)
    return [PastVisit(rng.choice(kb_slugs), start + timedelta(days=rng.randrange(0, 700))) for _ in range(20)]


def main() -> None:
    kb = default_knowledge_base()
    slugs = sorted(kb.treatments)
    cases = [
        (rng_treatment, history(slugs, seed))
        for seed, rng_treatment in enumerate(
            random.Random(7).choices(["botox", "microneedling", "dermal-filler", "chemical-peel-light"], k=50)
        )
    ]
    today, on = date(2026, 11, 25), date(2026, 12, 10)
    for factors, proposed, label in (
        ((), None, "no factors, no proposed date"),
        (("sensitive-skin", "blood-thinners"), on, "two factors and a proposed date"),
    ):
        samples = []
        for i in range(ROUNDS):
            treatment, visits = cases[i % len(cases)]
            began = time.perf_counter_ns()
            advise(kb, treatment, visits, factors, today=today, on=proposed)
            samples.append((time.perf_counter_ns() - began) / 1000)
        samples.sort()
        print(
            f"advice, 20-visit history, {label}: median {statistics.median(samples):.1f} µs, "
            f"p90 {samples[int(len(samples) * 0.9)]:.1f} µs over {ROUNDS} calls (target: median under 50 µs)"
        )
    print(f"python {sys.version.split()[0]}; reproduce: .venv/bin/python bench/advice.py")


if __name__ == "__main__":
    main()
