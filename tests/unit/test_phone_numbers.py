"""Telephone numbers as people type them: a patient's mobile number kept in E.164, a clinic's shown and dialled
whatever way it was written, and a clear problem naming `phone` for what is not a number."""

from __future__ import annotations

import pytest

from safewindow.services.errors import FieldProblems
from safewindow.services.phone_numbers import for_people, is_telephone_number, mobile_number, tel_link


@pytest.mark.parametrize("typed", ["604-555-0142", "(604) 555 0142", "6045550142", "+1 604 555 0142", "1-604-555-0142"])
def test_a_canadian_number_is_kept_in_one_form_however_it_is_typed(typed: str) -> None:
    assert mobile_number(typed) == "+16045550142"
    assert for_people(mobile_number(typed)) == "+1 604-555-0142"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("call me", "'call me' is not a telephone number"),
        ("555", "'555' is not a valid telephone number (another country's needs its +code)"),
        ("+44 12", "'+44 12' is not a valid telephone number"),
    ],
)
def test_what_is_not_a_number_is_named_on_the_phone_field(typed: str, problem: str) -> None:
    with pytest.raises(FieldProblems) as refused:
        mobile_number(typed)
    assert refused.value.problems == [("phone", problem)]


def test_a_clinic_number_is_dialled_the_same_however_it_was_written() -> None:
    assert tel_link("604-555-0100") == tel_link("(604) 555-0100") == "tel:+1-604-555-0100"
    assert tel_link("604-555-0100 ext. 2") == "tel:+1-604-555-0100;ext=2"
    assert is_telephone_number("604-555-0100 ext. 2") and not is_telephone_number("555")


def test_a_number_from_before_the_checks_is_shown_as_it_is() -> None:
    assert for_people("call the front desk") == "call the front desk"
