"""What a clinic offers and its booking policy over HTTP: public to read, changed by the clinic's administrator
(who may do what is in tests/web/test_role_matrix.py), refused with 422 naming every field at fault."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.web.test_api_demo import CLINIC, Demo, open_demo

TREATMENTS = f"/api/v1/clinics/{CLINIC}/treatments"
POLICY = f"/api/v1/clinics/{CLINIC}/booking-policy"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("offers")) as opened:
        yield opened


def test_what_the_clinic_offers_is_public_with_what_each_needs(demo: Demo) -> None:
    offered = {row["treatment"]: row for row in demo.ok("GET", TREATMENTS)}
    assert offered["ipl"] == {
        "treatment": "ipl",
        "name": "Intense pulsed light (IPL)",
        "duration_minutes": 30,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 15,
        "permission": "may-use-energy-devices",
        "room_kind": "laser",
        "device_kind": "laser",
        "active": True,
        "deposit_cents": 0,
    }
    assert demo.ok("GET", POLICY) == {
        "min_notice_minutes": 120,
        "horizon_days": 90,
        "slot_step_minutes": 15,
        "change_notice_minutes": 0,
    }
    assert demo.call("GET", "/api/v1/clinics/99/treatments").status_code == 404


def test_a_new_treatment_is_offered_and_bookable_at_its_length(demo: Demo) -> None:
    body = {"duration_minutes": 40, "buffer_after_minutes": 10, "permission": "may-inject", "room_kind": "treatment"}
    saved = demo.ok("PUT", f"{TREATMENTS}/kybella", "clinic admin", json=body)
    assert saved["name"] == "Kybella (deoxycholic acid)"
    assert (saved["duration_minutes"], saved["buffer_before_minutes"], saved["active"]) == (40, 0, True)
    (slot,) = demo.ok("GET", f"/api/v1/clinics/{CLINIC}/slots", params={"treatment": "kybella", "limit": 1})
    assert datetime.fromisoformat(slot["end"]) - datetime.fromisoformat(slot["start"]) == timedelta(minutes=40)
    entries = demo.ok("GET", "/api/v1/audit", "clinic admin", params={"entity": "clinic", "entity_id": str(CLINIC)})
    assert (
        entries[0]["action"] == "clinic.treatment-offered" and entries[0]["detail"]["after"]["duration_minutes"] == 40
    )


def test_a_refused_change_is_422_naming_every_field(demo: Demo) -> None:
    body = {"duration_minutes": 0, "buffer_before_minutes": 500, "room_kind": "sauna"}
    response = demo.call("PUT", f"{TREATMENTS}/botox", "clinic admin", json=body)
    assert response.status_code == 422
    fields = [problem["field"] for problem in response.json()["detail"]]
    assert fields == ["duration_minutes", "buffer_before_minutes", "permission", "room_kind"]
    unknown = demo.call("PUT", f"{TREATMENTS}/no-such-thing", "clinic admin", json={"duration_minutes": 30})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "treatment"
    assert next(row for row in demo.ok("GET", TREATMENTS) if row["treatment"] == "botox")["duration_minutes"] == 30


def test_the_policy_is_replaced_and_a_bad_one_named_field_by_field(demo: Demo) -> None:
    bad = demo.call(
        "PUT",
        POLICY,
        "clinic admin",
        json={"min_notice_minutes": 99_999, "horizon_days": 0, "slot_step_minutes": 7, "change_notice_minutes": 20_161},
    )
    assert bad.status_code == 422
    assert [p["field"] for p in bad.json()["detail"]] == [
        "min_notice_minutes",
        "horizon_days",
        "slot_step_minutes",
        "change_notice_minutes",
    ]
    missing = demo.call("PUT", POLICY, "clinic admin", json={"horizon_days": 30})
    assert missing.status_code == 422 and "min_notice_minutes" in missing.text
    new = {"min_notice_minutes": 60, "horizon_days": 30, "slot_step_minutes": 20, "change_notice_minutes": 1440}
    assert demo.ok("PUT", POLICY, "clinic admin", json=new) == new
    assert demo.ok("GET", POLICY) == new
    starts = demo.ok("GET", f"/api/v1/clinics/{CLINIC}/slots", params={"treatment": "botox", "limit": 30})
    assert starts and all(int(s["start"][14:16]) % 20 == 0 for s in starts)
