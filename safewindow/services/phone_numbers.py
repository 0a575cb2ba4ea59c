"""Telephone numbers as patients and clinics type them, read with `phonenumbers` (Google's libphonenumber data):
a patient's mobile number for text reminders, kept in E.164; a clinic's number, kept as the clinic writes it;
and both shown or dialled the way people and phones expect."""

from __future__ import annotations

import phonenumbers

from safewindow.services.errors import FieldProblems

REGION = "CA"  # a number typed without +country is read as Canadian (the demo clinics are in BC)
# North American numbers do not say whether they are mobile: the carrier knows, and a landline text fails there.
_TEXTABLE = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})


def _parsed(text: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        return None


def for_people(number: str) -> str:
    """A stored number as a person writes it: +1 604-555-0142 (as it is, if it does not parse: older data)."""
    parsed = _parsed(number)
    return (
        number if parsed is None else phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    )


def tel_link(number: str) -> str:
    """The `tel:` address a phone dials (RFC 3966: tel:+1-604-555-0100;ext=2), whatever way it was typed."""
    parsed = _parsed(number)
    if parsed is None:
        return "tel:" + "".join(c for c in number if c.isdigit() or c == "+")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.RFC3966)


def is_telephone_number(text: str) -> bool:
    """Any kind of number: patients call a clinic, so a landline is as good as a mobile."""
    parsed = _parsed(text)
    return parsed is not None and phonenumbers.is_valid_number(parsed)


def mobile_number(text: str) -> str:
    """The number in E.164 (+16045550142), or FieldProblems on `phone`: a Canadian number may be typed as people
    write it (604-555-0142, (604) 555 0142); another country's needs its +code."""
    number = _parsed(text)
    if number is None:
        raise FieldProblems([("phone", f"{text!r} is not a telephone number")])
    if not phonenumbers.is_valid_number(number):
        hint = "" if text.strip().startswith("+") else " (another country's needs its +code)"
        raise FieldProblems([("phone", f"{text!r} is not a valid telephone number{hint}")])
    if phonenumbers.number_type(number) not in _TEXTABLE:
        raise FieldProblems([("phone", f"{text!r} is not a mobile number: text messages need one")])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
