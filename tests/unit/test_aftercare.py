"""Aftercare day by day, on calendar days in Abbotsford, with dates and e-mail times worked out by hand.
British Columbia's last clock change was 8 March 2026 (UTC-8 to UTC-7); it stays on UTC-7 from 1 Nov 2026."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from safewindow.clock import clinic_zone
from safewindow.domain.aftercare import CALL_NOW, VASCULAR_OCCLUSION, aftercare_timeline
from safewindow.domain.treatments import Aftercare
from safewindow.knowledge.loader import default_knowledge_base

KB = default_knowledge_base()
ZONE = clinic_zone("America/Vancouver")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def emails_utc(slug: str, start: str) -> list[tuple[int, date, datetime, bool]]:
    timeline = aftercare_timeline(KB.treatments[slug], local(start), ZONE)
    return [(e.day, e.date, e.send_at.astimezone(UTC), e.last) for e in timeline.emails()]


def test_microneedling_on_1_december_day_by_day() -> None:
    timeline = aftercare_timeline(KB.treatments["microneedling"], local("2026-12-01T10:00"), ZONE)
    assert [(d.day, d.date) for d in timeline.days] == [
        (0, date(2026, 12, 1)),
        (1, date(2026, 12, 2)),
        (2, date(2026, 12, 3)),
        (3, date(2026, 12, 4)),
        (4, date(2026, 12, 5)),
        (5, date(2026, 12, 6)),
        (6, date(2026, 12, 7)),
        (7, date(2026, 12, 8)),
        (8, date(2026, 12, 9)),
        (9, date(2026, 12, 10)),
        (10, date(2026, 12, 11)),
        (11, date(2026, 12, 12)),
        (12, date(2026, 12, 13)),
        (13, date(2026, 12, 14)),
        (14, date(2026, 12, 15)),
    ]
    day0, day2, day6 = timeline.on(0), timeline.on(2), timeline.on(6)
    assert day0 is not None and day2 is not None and day6 is not None
    assert day0.expect[0].startswith("Redness like a mild sunburn")
    assert "Make-up for the first 24 hours." in day0.avoid
    assert "Make-up for the first 24 hours." not in day2.avoid  # days 0-1 only
    assert any("flaking" in e for e in day2.expect)
    assert not any("flaking" in e for e in day0.expect)  # days 2-5 only
    assert day6.expect == ("Skin is usually settled. The clinic treats 1-2 weeks as the conservative recovery time.",)
    assert len(day0.do) == len(set(day0.do))
    assert timeline.recovery_ends == 14


def test_microneedling_emails_day_0_evening_days_1_3_and_the_last_day() -> None:
    # 19:00 and 09:00 in Abbotsford on permanent UTC-7 are 02:00 (next day) and 16:00 UTC.
    assert emails_utc("microneedling", "2026-12-01T10:00") == [
        (0, date(2026, 12, 1), datetime(2026, 12, 2, 2, 0, tzinfo=UTC), False),
        (1, date(2026, 12, 2), datetime(2026, 12, 2, 16, 0, tzinfo=UTC), False),
        (3, date(2026, 12, 4), datetime(2026, 12, 4, 16, 0, tzinfo=UTC), False),
        (14, date(2026, 12, 15), datetime(2026, 12, 15, 16, 0, tzinfo=UTC), True),
    ]


def test_the_visit_day_is_counted_in_the_clinic_zone() -> None:
    # 06:30 UTC on 2 Dec is 23:30 on 1 Dec in Abbotsford: day 0 is 1 Dec.
    timeline = aftercare_timeline(KB.treatments["microneedling"], datetime(2026, 12, 2, 6, 30, tzinfo=UTC), ZONE)
    assert timeline.days[0].date == date(2026, 12, 1)
    # A late visit's day-0 e-mail waits until an hour after it ends (60 minutes): 01:30 local on 2 Dec.
    assert timeline.emails()[0].send_at == local("2026-12-02T01:30")


def test_a_visit_just_before_the_march_2026_clock_change() -> None:
    # Saturday 7 March 2026, 10:00 PST (UTC-8). Clocks go forward on Sunday 8 March: 09:00 PDT is 16:00 UTC.
    assert emails_utc("microneedling", "2026-03-07T10:00") == [
        (0, date(2026, 3, 7), datetime(2026, 3, 8, 3, 0, tzinfo=UTC), False),
        (1, date(2026, 3, 8), datetime(2026, 3, 8, 16, 0, tzinfo=UTC), False),
        (3, date(2026, 3, 10), datetime(2026, 3, 10, 16, 0, tzinfo=UTC), False),
        (14, date(2026, 3, 21), datetime(2026, 3, 21, 16, 0, tzinfo=UTC), True),
    ]
    timeline = aftercare_timeline(KB.treatments["microneedling"], local("2026-03-07T10:00"), ZONE)
    assert [d.date for d in timeline.days][:3] == [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    assert timeline.start.astimezone(UTC) == datetime(2026, 3, 7, 18, 0, tzinfo=UTC)


def test_botox_on_30_november_2026_on_permanent_utc_minus_7() -> None:
    assert emails_utc("botox", "2026-11-30T10:00") == [
        (0, date(2026, 11, 30), datetime(2026, 12, 1, 2, 0, tzinfo=UTC), False),
        (1, date(2026, 12, 1), datetime(2026, 12, 1, 16, 0, tzinfo=UTC), False),
        (3, date(2026, 12, 3), datetime(2026, 12, 3, 16, 0, tzinfo=UTC), False),
        (14, date(2026, 12, 14), datetime(2026, 12, 14, 16, 0, tzinfo=UTC), True),
    ]
    timeline = aftercare_timeline(KB.treatments["botox"], local("2026-11-30T10:00"), ZONE)
    numbers = [d.day for d in timeline.days]
    # Days no step covers are left out; wearing off at 3-4 months is in the timeline, but it is the recall's
    # business, not an aftercare e-mail.
    assert numbers[:8] == [0, 1, 2, 3, 4, 5, 10, 11]
    assert numbers[-1] == 120 and timeline.days[-1].date == date(2027, 3, 30)
    assert timeline.recovery_ends == 14


def test_a_short_aftercare_gets_no_email_past_its_last_day() -> None:
    assert [(day, last) for day, _, _, last in emails_utc("hydrafacial", "2026-12-01T10:00")] == [
        (0, False),
        (1, True),
    ]


def test_filler_warning_signs_say_plainly_to_call_the_clinic_or_emergency_services() -> None:
    timeline = aftercare_timeline(KB.treatments["dermal-filler"], local("2026-12-01T10:00"), ZONE)
    urgent = [s for s in timeline.warning_signs if "emergency services" in s]
    assert urgent, timeline.warning_signs
    assert "call the clinic or emergency services" in urgent[0]
    assert "at once" in urgent[0] and "vision" in urgent[0] and "Blanching" in urgent[0]
    assert CALL_NOW.startswith("Call the clinic now")


def test_a_filler_without_the_occlusion_warning_gets_it_anyway() -> None:
    filler = KB.treatments["dermal-filler"]
    bare = replace(filler, aftercare=Aftercare(filler.aftercare.steps, ("Lumps: contact the clinic.",), "test"))
    timeline = aftercare_timeline(bare, local("2026-12-01T10:00"), ZONE)
    assert timeline.warning_signs == (VASCULAR_OCCLUSION, "Lumps: contact the clinic.")
    not_filler = aftercare_timeline(replace(bare, category="toxin"), local("2026-12-01T10:00"), ZONE)
    assert not_filler.warning_signs == ("Lumps: contact the clinic.",)


def test_every_shipped_treatment_has_warning_signs_and_an_email_on_day_0() -> None:
    for treatment in KB.treatments.values():
        timeline = aftercare_timeline(treatment, local("2026-12-01T10:00"), ZONE)
        assert timeline.warning_signs, treatment.slug
        emails = timeline.emails()
        assert emails[0].day == 0 and emails[-1].last, treatment.slug
