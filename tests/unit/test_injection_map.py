"""The injection map: which sites each injected treatment may mark, amounts as exact decimals named when they
cannot be one, and the shipped sites file checked against the knowledge base."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safewindow.domain.injection_map import Point, amount_text, read_points, total
from safewindow.knowledge.injection_sites import SITES_FILE, default_injection_maps, load_injection_maps
from safewindow.knowledge.loader import KnowledgeError, default_knowledge_base

MAPS = default_injection_maps()


def test_each_injected_treatment_has_its_measure_and_sites_and_others_have_none() -> None:
    assert (MAPS.measure("botox").unit, MAPS.measure("dermal-filler").unit) == ("units", "mL")  # type: ignore[union-attr]
    assert MAPS.measure("kybella").unit == "mL"  # type: ignore[union-attr]
    for slug in ("microneedling", "chemical-peel-light", "pdo-threads", "no-such-treatment"):
        assert MAPS.measure(slug) is None and MAPS.sites_for(slug) == ()
    botox = {site.id for site in MAPS.sites_for("botox")}
    filler = {site.id for site in MAPS.sites_for("dermal-filler")}
    assert {"glabella", "crows-feet-left", "forehead"} <= botox and "nasolabial-left" not in botox
    assert {"nasolabial-left", "lower-lip"} <= filler and "glabella" not in filler
    assert botox & filler == {"upper-lip", "chin"}
    assert MAPS.sites_for("botox-touch-up") == MAPS.sites_for("botox")  # one category, one map


def test_points_come_back_in_drawing_order_whatever_order_they_were_typed() -> None:
    points, problems = read_points([("chin", "4"), ("glabella", 20), ("forehead", "10.5")], MAPS, "botox", "Botox")
    assert problems == []
    assert points == (
        Point("forehead", Decimal("10.50"), "units"),
        Point("glabella", Decimal("20.00"), "units"),
        Point("chin", Decimal("4.00"), "units"),
    )
    assert total(points) == Decimal("34.5") and amount_text(total(points)) == "34.5"


@pytest.mark.parametrize(
    ("site", "amount", "problem"),
    [
        ("glabella", "0", "give an amount above 0 units"),
        ("glabella", "-2", "give an amount above 0 units"),
        ("glabella", "abc", "give the amount in units as a number, such as 2.5"),
        ("glabella", "NaN", "give the amount in units as a number, such as 2.5"),
        ("glabella", "Infinity", "give the amount in units as a number, such as 2.5"),
        ("glabella", float("inf"), "give the amount in units as a number, such as 2.5"),
        ("glabella", True, "give the amount in units as a number"),
        ("glabella", None, "give the amount in units as a number"),
        ("glabella", "2.555", "give the amount to at most two decimal places"),
        ("glabella", "100.01", "more than 100 units at one site: check for a typing slip"),
        ("glabella", "1e40", "more than 100 units at one site: check for a typing slip"),
        ("nasolabial-left", "1", "not a site for Botox"),
        ("eyebrow-piercing", "1", "no such site on the injection map"),
    ],
)
def test_a_bad_point_is_named_by_its_site_and_nothing_is_kept(site: str, amount: object, problem: str) -> None:
    points, problems = read_points([("forehead", "10"), (site, amount)], MAPS, "botox", "Botox")
    assert (points, problems) == ((), [(site, problem)])


def test_a_site_given_twice_and_a_map_on_a_treatment_that_is_not_injected_are_refused() -> None:
    _, twice = read_points([("chin", "1"), ("chin", "2")], MAPS, "dermal-filler", "Dermal filler")
    assert twice == [("chin", "given twice: give each site once, with the whole amount")]
    _, not_injected = read_points([("chin", "1")], MAPS, "microneedling", "Microneedling")
    assert not_injected == [("", "Microneedling is not injected, so it has no injection map")]
    assert read_points([], MAPS, "microneedling", "Microneedling") == ((), [])


def test_filler_is_counted_in_millilitres_with_its_own_cap() -> None:
    points, _ = read_points([("lower-lip", "0.25"), ("upper-lip", Decimal("0.5"))], MAPS, "dermal-filler", "Filler")
    assert [(p.site, amount_text(p.amount), p.unit) for p in points] == [
        ("upper-lip", "0.5", "mL"),
        ("lower-lip", "0.25", "mL"),
    ]
    _, over = read_points([("chin", "10.5")], MAPS, "dermal-filler", "Filler")
    assert over == [("chin", "more than 10 mL at one site: check for a typing slip")]


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2))
def test_any_amount_of_at_most_two_places_within_the_cap_is_kept_exactly(amount: Decimal) -> None:
    (point,), problems = read_points([("glabella", str(amount))], MAPS, "botox", "Botox")
    assert problems == [] and point.amount == amount
    assert Decimal(amount_text(point.amount)) == amount


@pytest.mark.parametrize(
    ("yaml", "item", "field"),
    [
        ("measures: [{category: needling, unit: mm, most_per_site: 1}]\nsites: []", "needling", "category"),
        (
            "measures: [{category: toxin, unit: units, most_per_site: 1}]\n"
            "sites: [{id: a, name: A, x: 1, y: 1, categories: [filler]}]",
            "a",
            "categories",
        ),
        (
            "measures: [{category: toxin, unit: units, most_per_site: 1}]\n"
            "sites: [{id: a, name: A, x: 1, y: 1, categories: [toxin]},\n"
            "        {id: a, name: B, x: 2, y: 2, categories: [toxin]}]",
            "a",
            "id",
        ),
        (
            "measures: [{category: toxin, unit: units, most_per_site: 1}]\n"
            "sites: [{id: a, name: A, x: 999, y: 1, categories: [toxin]}]",
            "a",
            "x",
        ),
        ("measures: [{category: toxin, unit: units, most_per_site: 0}]\nsites: []", "toxin", "most_per_site"),
    ],
)
def test_a_broken_sites_file_names_the_item_and_field(tmp_path: Path, yaml: str, item: str, field: str) -> None:
    broken = tmp_path / "injection_sites.yaml"
    broken.write_text(yaml, encoding="utf-8")
    with pytest.raises(KnowledgeError) as error:
        load_injection_maps(default_knowledge_base(), broken)
    assert (error.value.item, error.value.field) == (item, field)


def test_the_shipped_file_loads_and_every_site_fits_the_drawing() -> None:
    assert load_injection_maps(default_knowledge_base(), SITES_FILE) == MAPS
    assert all(0 <= site.x <= 200 and 0 <= site.y <= 240 for site in MAPS.sites.values())
    assert len({(site.x, site.y) for site in MAPS.sites.values()}) == len(MAPS.sites)  # no two dots on one spot
