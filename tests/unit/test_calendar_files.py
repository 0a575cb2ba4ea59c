"""Calendar files, read back with `icalendar`: a 10:00 Abbotsford visit on 1 Dec 2026 is 17:00 UTC."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from safewindow.clock import clinic_zone
from safewindow.services.calendar_files import CalendarVisit, Method, feed, invitation, visit_uid

ZONE = clinic_zone("America/Vancouver")
START = datetime(2026, 12, 1, 10, 0, tzinfo=ZONE)
STAMP = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
VISIT = CalendarVisit(
    id=12,
    version=1,
    start=START,
    end=START + timedelta(minutes=30),
    treatment="Botulinum toxin (Botox and similar)",
    clinic="Fraser Valley Skin Studio",
    address="Unit 204, 33120 South Fraser Way, Abbotsford, BC V2S 2B1",
    attendee="asha.grewal@example.com",
)


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def test_an_invitation_is_in_utc_with_a_stable_uid() -> None:
    data = invitation(VISIT, Method.REQUEST, organizer="no-reply@clinic.example", stamp=STAMP)
    text = data.decode()
    assert "DTSTART:20261201T170000Z" in text and "DTEND:20261201T173000Z" in text
    calendar = parse(data)
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.events
    assert event.start == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert event.end == datetime(2026, 12, 1, 17, 30, tzinfo=UTC)
    assert event.uid == visit_uid(12) == "visit-12@safewindow"
    assert event.sequence == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Botulinum toxin (Botox and similar) at Fraser Valley Skin Studio"
    assert str(event["LOCATION"]) == (
        "Fraser Valley Skin Studio, Unit 204, 33120 South Fraser Way, Abbotsford, BC V2S 2B1"
    )
    assert str(event["ORGANIZER"]) == "mailto:no-reply@clinic.example"
    assert str(event["ATTENDEE"]) == "mailto:asha.grewal@example.com"
    assert event["ATTENDEE"].params["RSVP"] == "FALSE"
    assert event.stamp == STAMP


def test_a_moved_visit_keeps_its_uid_and_raises_the_sequence() -> None:
    moved = replace(VISIT, version=2, start=START + timedelta(days=7), end=START + timedelta(days=7, minutes=30))
    [event] = parse(invitation(moved, Method.REQUEST, organizer="no-reply@clinic.example", stamp=STAMP)).events
    assert event.uid == "visit-12@safewindow"
    assert event.sequence == 1
    assert event.start == datetime(2026, 12, 8, 17, 0, tzinfo=UTC)


def test_a_cancellation_says_cancel() -> None:
    cancelled = replace(VISIT, version=3, cancelled=True)
    calendar = parse(invitation(cancelled, Method.CANCEL, organizer="no-reply@clinic.example", stamp=STAMP))
    assert calendar["METHOD"] == "CANCEL"
    [event] = calendar.events
    assert (event.uid, event.sequence, str(event["STATUS"])) == ("visit-12@safewindow", 2, "CANCELLED")


def test_a_feed_holds_many_events_and_names_no_patient() -> None:
    visits = [
        replace(VISIT, id=12 + n, start=START + timedelta(days=n), end=START + timedelta(days=n, minutes=30))
        for n in range(3)
    ]
    data = feed("Visits", visits, stamp=STAMP, for_practitioner=True)
    calendar = parse(data)
    assert "METHOD" not in calendar
    assert [e.uid for e in calendar.events] == ["visit-12@safewindow", "visit-13@safewindow", "visit-14@safewindow"]
    assert [e.start for e in calendar.events] == [datetime(2026, 12, 1 + n, 17, 0, tzinfo=UTC) for n in range(3)]
    assert str(calendar.events[0]["SUMMARY"]) == "Botulinum toxin (Botox and similar) (visit 12)"
    assert b"asha" not in data.lower() and b"ATTENDEE" not in data
    patient = parse(feed("Visits", visits[:1], stamp=STAMP))
    assert str(patient.events[0]["SUMMARY"]) == "Botulinum toxin (Botox and similar) at Fraser Valley Skin Studio"


def test_the_same_visit_gives_the_same_file() -> None:
    first = invitation(VISIT, Method.REQUEST, organizer="no-reply@clinic.example", stamp=STAMP)
    assert first == invitation(VISIT, Method.REQUEST, organizer="no-reply@clinic.example", stamp=STAMP)
