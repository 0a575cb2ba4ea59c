"""The injection map of a treatment record: how much the practitioner injected at each site of the face, for the
injected treatments (toxin in units, fillers and other injectables in mL). It records what was done and
suggests nothing: no site and no dose comes from here.

Amounts are exact decimals with at most two places (2.5 units, 0.25 mL), kept as hundredths in the store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PLACES = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    x: int  # on the face drawing, as you look at the patient (200 wide, 240 high)
    y: int
    categories: frozenset[str]


@dataclass(frozen=True, slots=True)
class Measure:
    """How one category's injections are counted, and the most one site may hold before the entry is
    taken as a typing slip."""

    unit: str
    most_per_site: Decimal


@dataclass(frozen=True, slots=True)
class Point:
    site: str
    amount: Decimal
    unit: str


@dataclass(frozen=True, slots=True)
class InjectionMaps:
    """The sites and measures, and which category each treatment is in (from the knowledge base)."""

    sites: Mapping[str, Site]  # in drawing order, top to bottom
    measures: Mapping[str, Measure]  # category -> measure
    categories: Mapping[str, str]  # treatment slug -> category

    def measure(self, treatment: str) -> Measure | None:
        """None when the treatment is not injected, so it has no map."""
        return self.measures.get(self.categories.get(treatment, ""))

    def sites_for(self, treatment: str) -> tuple[Site, ...]:
        category = self.categories.get(treatment)
        return tuple(site for site in self.sites.values() if category in site.categories)


def amount_text(amount: Decimal) -> str:
    """2.50 -> '2.5', 20.00 -> '20': as a practitioner writes it."""
    text = format(amount.quantize(PLACES), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def total(points: Iterable[Point]) -> Decimal:
    return sum((point.amount for point in points), Decimal(0))


def read_points(
    entries: Iterable[tuple[str, object]], maps: InjectionMaps, treatment: str, treatment_name: str
) -> tuple[tuple[Point, ...], list[tuple[str, str]]]:
    """The map's points, in drawing order, from (site, amount) entries as typed; and each problem as
    (site, or '' for the map as a whole, what is wrong). Nothing is guessed: an entry is used as given or named."""
    entries = list(entries)
    measure = maps.measure(treatment)
    if not entries:
        return (), []
    if measure is None:
        return (), [("", f"{treatment_name} is not injected, so it has no injection map")]
    allowed = {site.id for site in maps.sites_for(treatment)}
    amounts: dict[str, Decimal] = {}
    problems: list[tuple[str, str]] = []
    for site, given in entries:
        if site not in maps.sites:
            problems.append((site, "no such site on the injection map"))
        elif site not in allowed:
            problems.append((site, f"not a site for {treatment_name}"))
        elif site in amounts:
            problems.append((site, "given twice: give each site once, with the whole amount"))
        else:
            amount, problem = _amount(given, measure)
            if problem:
                problems.append((site, problem))
            else:
                amounts[site] = amount
    points = tuple(Point(site, amounts[site], measure.unit) for site in maps.sites if site in amounts)
    return (points, []) if not problems else ((), problems)


def _amount(given: object, measure: Measure) -> tuple[Decimal, str]:
    if isinstance(given, bool) or not isinstance(given, str | int | float | Decimal):
        return Decimal(0), f"give the amount in {measure.unit} as a number"
    try:
        amount = Decimal(str(given).strip())
    except InvalidOperation:
        return Decimal(0), f"give the amount in {measure.unit} as a number, such as 2.5"
    if not amount.is_finite():  # 'NaN', 'Infinity', or a JSON 1e400 that became a float's infinity
        return Decimal(0), f"give the amount in {measure.unit} as a number, such as 2.5"
    if amount <= 0:
        return Decimal(0), f"give an amount above 0 {measure.unit}"
    if amount > measure.most_per_site:  # first: quantizing a huge number would overflow the context
        return Decimal(0), (
            f"more than {amount_text(measure.most_per_site)} {measure.unit} at one site: check for a typing slip"
        )
    if amount != amount.quantize(PLACES):
        return Decimal(0), "give the amount to at most two decimal places"
    return amount.quantize(PLACES), ""
