"""Whether a signature covers a visit (this clinic's form in use, not withdrawn, signed on or before the visit
and less than a year before it), how a typed name is compared, and the starter form drafted from the shipped
knowledge base."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from safewindow.domain.consent import (
    VALID_FOR,
    Form,
    Signature,
    Standing,
    coverage,
    form_in_use_at,
    same_name,
    starter_body,
    starter_title,
)
from safewindow.knowledge.loader import default_knowledge_base

SIGNED = date(2026, 11, 25)


def form(version: int = 1, *, clinic: int = 1, treatment: str = "botox", form_id: int | None = None) -> Form:
    return Form(
        form_id or version, clinic, treatment, version, "Consent", "words", "admin", datetime(2026, 1, 1, tzinfo=UTC)
    )


def signature(signed: Form, day: date = SIGNED, *, signature_id: int = 1, withdrawn: bool = False) -> Signature:
    at = datetime(day.year, day.month, day.day, 18, tzinfo=UTC)
    return Signature(
        signature_id,
        7,
        signed,
        "Simran Gill",
        day,
        at,
        False,
        "patient:7",
        withdrawn_at=at + timedelta(hours=1) if withdrawn else None,
        withdrawn_by="patient:7" if withdrawn else None,
    )


def test_no_form_means_nothing_to_sign() -> None:
    found = coverage(None, [signature(form())], SIGNED)
    assert found.standing is Standing.NO_FORM and found.covered


def test_never_signed_is_needed() -> None:
    found = coverage(form(), [], SIGNED)
    assert found.standing is Standing.NEEDED and not found.covered


def test_a_signature_on_the_form_in_use_covers_the_visit_until_a_year_has_passed() -> None:
    in_use = form()
    signed = signature(in_use)
    last = SIGNED + VALID_FOR - timedelta(days=1)
    assert coverage(in_use, [signed], SIGNED).standing is Standing.SIGNED
    assert coverage(in_use, [signed], last).standing is Standing.SIGNED
    assert coverage(in_use, [signed], last + timedelta(days=1)).standing is Standing.EXPIRED


def test_a_year_is_365_calendar_days_so_a_leap_day_ends_it_a_date_early() -> None:
    in_use = form()
    signed = signature(in_use, date(2027, 3, 1))
    assert coverage(in_use, [signed], date(2028, 2, 28)).covered
    assert not coverage(in_use, [signed], date(2028, 2, 29)).covered  # 365 days on: ask again, never later


def test_a_new_version_of_the_form_asks_for_a_new_signature() -> None:
    first, second = form(1), form(2)
    found = coverage(second, [signature(first)], SIGNED)
    assert found.standing is Standing.NEW_VERSION and found.signature is not None and found.signature.form == first


def test_a_withdrawn_signature_covers_nothing_and_says_so() -> None:
    in_use = form()
    found = coverage(in_use, [signature(in_use, withdrawn=True)], SIGNED)
    assert found.standing is Standing.WITHDRAWN and not found.covered


def test_a_later_signature_covers_after_an_earlier_one_was_withdrawn() -> None:
    in_use = form()
    earlier = signature(in_use, SIGNED - timedelta(days=3), withdrawn=True)
    later = signature(in_use, signature_id=2)
    found = coverage(in_use, [earlier, later], SIGNED)
    assert found.standing is Standing.SIGNED and found.signature == later


def test_a_signature_made_after_the_visit_did_not_cover_it() -> None:
    in_use = form()
    assert coverage(in_use, [signature(in_use)], SIGNED - timedelta(days=1)).standing is Standing.NEEDED


def test_another_clinics_or_treatments_signature_does_not_count() -> None:
    in_use = form(clinic=1, treatment="botox")
    elsewhere = signature(form(clinic=2, treatment="botox", form_id=50))
    other_treatment = signature(form(clinic=1, treatment="dermal-filler", form_id=60), signature_id=2)
    assert coverage(in_use, [elsewhere, other_treatment], SIGNED).standing is Standing.NEEDED


@given(
    days=st.lists(st.integers(min_value=-400, max_value=400), max_size=6),
    withdrawn=st.lists(st.booleans(), min_size=6, max_size=6),
    versions=st.lists(st.integers(min_value=1, max_value=3), min_size=6, max_size=6),
)
def test_covered_exactly_when_some_signature_covers(
    days: list[int], withdrawn: list[bool], versions: list[int]
) -> None:
    forms = {v: form(v) for v in (1, 2, 3)}
    in_use = forms[3]
    signed = [
        signature(forms[versions[n]], SIGNED + timedelta(days=d), signature_id=n + 1, withdrawn=withdrawn[n])
        for n, d in enumerate(days)
    ]
    found = coverage(in_use, signed, SIGNED)
    # A withdrawal ends every signature made before it; only one made since may cover.
    ended = max((s.withdrawn_at for s in signed if s.withdrawn_at and s.signed_day <= SIGNED), default=None)
    since = [s for s in signed if ended is None or s.signed_at > ended]
    assert found.covered == any(s.covers(in_use, SIGNED) for s in since)
    if found.covered:
        assert found.signature is not None and found.signature.covers(in_use, SIGNED)


def test_withdrawing_ends_every_earlier_signature_on_the_treatments_form() -> None:
    in_use = form()
    older = signature(in_use, SIGNED - timedelta(days=2), signature_id=1)
    newer = signature(in_use, SIGNED - timedelta(days=1), signature_id=2, withdrawn=True)
    found = coverage(in_use, [older, newer], SIGNED)
    assert found.standing is Standing.WITHDRAWN and found.signature == newer
    again = signature(in_use, SIGNED, signature_id=3)
    assert coverage(in_use, [older, newer, again], SIGNED).signature == again


def test_a_visit_is_judged_by_the_form_in_use_when_it_began() -> None:
    first = form(1)
    second = Form(2, 1, "botox", 2, "Consent", "new words", "admin", datetime(2027, 1, 1, tzinfo=UTC))
    visit = datetime(2026, 12, 1, 17, tzinfo=UTC)
    assert form_in_use_at([second, first], visit) == first
    assert form_in_use_at([second, first], datetime(2027, 1, 2, tzinfo=UTC)) == second
    assert form_in_use_at([second], visit) is None  # no form then: nothing was asked
    assert coverage(form_in_use_at([first, second], visit), [signature(first)], visit.date(), visit).covered


def test_a_withdrawal_after_the_visit_does_not_undo_the_consent_given_for_it() -> None:
    in_use = form()
    withdrawn = signature(in_use, withdrawn=True)  # withdrawn an hour after signing, at 19:00 UTC
    assert withdrawn.withdrawn_at is not None
    before = withdrawn.withdrawn_at - timedelta(minutes=30)
    after = withdrawn.withdrawn_at + timedelta(minutes=30)
    assert coverage(in_use, [withdrawn], SIGNED, before).standing is Standing.SIGNED
    assert coverage(in_use, [withdrawn], SIGNED, after).standing is Standing.WITHDRAWN
    assert coverage(in_use, [withdrawn], SIGNED).standing is Standing.WITHDRAWN  # no time: as it stands now


def test_a_typed_name_matches_ignoring_case_and_spacing() -> None:
    assert same_name("  simran   GILL ", "Simran Gill")
    assert not same_name("Simran", "Simran Gill")
    assert not same_name("Simran Gil", "Simran Gill")


def test_the_starter_form_carries_the_knowledge_base_facts_with_their_sources() -> None:
    kb = default_knowledge_base()
    botox = kb.treatments["botox"]
    body = starter_body(botox, list(kb.factors.values()), "Fraser Valley Skin Studio")
    assert starter_title(botox) == f"Consent to {botox.name}"
    assert body.startswith(f"I ask Fraser Valley Skin Studio to treat me with {botox.name}.")
    assert "prescription treatment" in body  # botox needs an authorized prescriber's order
    for sign in botox.aftercare.warning_signs:
        assert f"- {sign}" in body
    assert f"- {kb.factors['pregnancy'].name}" in body
    assert "a qualified practitioner decides" in body
    sources = body.rsplit("Sources for the information above: ", 1)[1]
    assert "Botox Cosmetic product monograph" in sources
    assert sources.count("Botox Cosmetic product monograph") == 1


def test_the_starter_for_a_treatment_anyone_may_give_does_not_mention_a_prescriber() -> None:
    kb = default_knowledge_base()
    body = starter_body(kb.treatments["microneedling"], list(kb.factors.values()), "Clinic")
    assert "prescription" not in body
    assert "Pus, spreading redness" in body
