"""§2 CE Access Point Only allotment: population share x target, with a minimum per region.

Arithmetic is exact (fractions), so a value that is exactly half way (2.5) rounds the
way the policy says and not the way binary floating point happens to fall.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from tests.reference_engine.dates import number_words
from tests.reference_engine.model import (
    AllotmentRules,
    AllotmentSummary,
    CountyRow,
    Problem,
    RegionAllotment,
    RegionRow,
    Where,
    name_key,
)

_ROUNDING_WORDS = {
    "nearest": "rounded to the nearest whole license (halves up)",
    "down": "rounded down",
    "up": "rounded up",
}


def round_value(value: Fraction, rounding: str) -> int:
    """Round per policy: nearest (half up: 4.5 -> 5), down or up."""
    if rounding == "down":
        return math.floor(value)
    if rounding == "up":
        return math.ceil(value)
    return math.floor(value + Fraction(1, 2))


def allotment_for(rules: AllotmentRules, population: int, total_population: int) -> int:
    """§2 formula for one region: max(minimum, round(population / total x target)).

    The largest_remainder method depends on every region at once, so one region alone is
    always given the policy's formula.
    """
    if population <= 0 or total_population <= 0 or population > total_population:
        raise ValueError(
            f"population {population:,} must be more than zero and at most the total"
            f" population {total_population:,}"
        )
    value = Fraction(population * rules.target, total_population)
    return max(rules.minimum, round_value(value, rules.rounding))


def region_populations(
    regions: Sequence[RegionRow],
    counties: Sequence[CountyRow] | None,
    unreadable_counties: Collection[str] = (),
    unreadable_regions: Collection[str] = (),
) -> tuple[list[tuple[RegionRow, int]], list[Problem]]:
    """Each region's population: the sum of its Counties rows when there are any, else Regions."""
    problems: list[Problem] = []
    known = {name_key(r.region) for r in regions} | set(unreadable_regions)
    county_sums: dict[str, int] = {}
    for county in counties or ():
        key = name_key(county.region)
        if key not in known:
            problems.append(
                Problem(
                    "Error",
                    Where("Counties", county.row, "Region"),
                    f'County {county.county} names region "{county.region}", which is'
                    " not on the Regions sheet.",
                    "Correct the region name, or add the region to the Regions sheet.",
                )
            )
            continue
        county_sums[key] = county_sums.get(key, 0) + county.population

    resolved = []
    for region in regions:
        from_counties = county_sums.get(name_key(region.region))
        if from_counties is not None:
            if region.population is not None and region.population != from_counties:
                problems.append(
                    Problem(
                        "Warning",
                        Where("Regions", region.row, "Population"),
                        f"{region.region}: Population {region.population:,} differs from"
                        f" the sum of its Counties rows, {from_counties:,}; the Counties"
                        " sum is used.",
                        "Make the two agree, or leave Population blank on the Regions"
                        " sheet so the Counties sheet alone gives it.",
                    )
                )
            population = from_counties
        elif region.population is not None:
            population = region.population
        elif name_key(region.region) in unreadable_counties:
            continue
        else:
            problems.append(
                Problem(
                    "Error",
                    Where("Regions", region.row, "Population"),
                    f"{region.region} has no population: Population is blank and no"
                    " Counties row names this region.",
                    "Enter the region's population, or add its counties on the Counties sheet.",
                )
            )
            continue
        if population <= 0:
            problems.append(
                Problem(
                    "Error",
                    Where("Regions", region.row, "Population"),
                    f"{region.region} has a population of {population:,}; it must be more"
                    " than zero.",
                    "Enter the region's population from the Census.",
                )
            )
            continue
        resolved.append((region, population))
    return resolved, problems


def shown_value(value: Fraction, rules: AllotmentRules) -> str:
    """The formula value to two decimals, or with as many more as it takes for the
    number shown to round (and to compare with the minimum) as the value does: 224,999 of
    1,000,000 × 20 is 4.49998, not "4.50" beside an allotment of 4."""
    for digits in range(2, 9):
        text = f"{float(value):.{digits}f}"
        shown = Fraction(text)
        if round_value(shown, rules.rounding) == round_value(value, rules.rounding) and (
            shown < rules.minimum
        ) == (value < rules.minimum):
            return text
    return f"{float(value):.8f}"


def allot(
    rules: AllotmentRules,
    populations: Sequence[tuple[str, int]],
    *,
    policy_file: str = "policy.yaml",
) -> tuple[list[RegionAllotment], AllotmentSummary | None, list[Problem]]:
    """§2 for every region, in the order given."""
    if not populations:
        return [], None, []
    total = sum(pop for _, pop in populations)
    values = [Fraction(pop * rules.target, total) for _, pop in populations]
    rounded = [round_value(v, rules.rounding) for v in values]

    if rules.method == "largest_remainder":
        if len(populations) * rules.minimum > rules.target:
            problem = Problem(
                "Error",
                Where(policy_file, column="ce_allotment.method"),
                f"The largest_remainder method cannot keep the minimum: {len(populations)}"
                f" regions × {rules.minimum} = {len(populations) * rules.minimum} is more"
                f" than the target of {rules.target}.",
                "Raise ce_allotment.target, lower ce_allotment.minimum, or use method: formula.",
            )
            return [], None, [problem]
        shares = largest_remainder_with_minimum(
            [pop for _, pop in populations], rules.target, rules.minimum
        )
        counts = [s.count for s in shares]
        texts = [_remainder_text(rules, share, len(populations)) for share in shares]
        # SPEC §2: Minimum Applied says whether the *value* is below the minimum, by either
        # method; a region held at the minimum while the rest are re-shared (its quota
        # fell short, its value did not) says so in its explanation instead.
        raised = [value < rules.minimum for value in values]
    else:
        counts = [max(rules.minimum, r) for r in rounded]
        # §2 "If the value is less than two, the region will be designated two": the value,
        # not the rounded number, decides (1.69 rounds to 2, and the minimum still applies).
        raised = [value < rules.minimum for value in values]
        texts = [
            _formula_text(rules, r, count, lifted)
            for r, count, lifted in zip(rounded, counts, raised, strict=True)
        ]

    results = []
    for (region, pop), value, text, count, min_applied in zip(
        populations, values, texts, counts, raised, strict=True
    ):
        arithmetic = f"{pop:,} / {total:,} × {rules.target} = {shown_value(value, rules)}"
        results.append(
            RegionAllotment(
                region=region,
                population=pop,
                share=pop / total,
                formula_value=float(value),
                allotment=count,
                minimum_applied=min_applied,
                explanation=f"{arithmetic}{text}. §2",
            )
        )
    summary = _summary(rules, results, rounded, total)
    return results, summary, []


def _formula_text(rules: AllotmentRules, rounded: int, count: int, lifted: bool) -> str:
    words = _ROUNDING_WORDS[rules.rounding]
    minimum = number_words(rules.minimum)
    if not lifted:
        return f", {words}: {count}"
    if rounded >= rules.minimum:
        return (
            f", less than {minimum}, so the region is designated the minimum of {count}"
            f" ({words} it would also be {rounded})"
        )
    return (
        f", {words}: {rounded}; the value is less than {minimum}, so the region is"
        f" designated the minimum of {count}"
    )


def _remainder_text(rules: AllotmentRules, share: RemainderShare, regions: int) -> str:
    minimum = number_words(rules.minimum)
    method = "; by the largest remainder method, which meets the target exactly"
    if regions * rules.minimum == rules.target:
        return (
            f"{method}, {regions} regions × the minimum of {minimum} use the whole"
            f" target of {rules.target}, so every region gets {share.count}, whatever its"
            " population"
        )
    if share.held_at_minimum:
        return (
            f"{method}, its quota of the {share.seats} licenses shared was"
            f" {float(share.quota):.2f}, fewer than the minimum of {minimum}, so it is"
            f" held at {share.count} and the rest are shared among the other regions"
        )
    held = (
        f" after {share.held} region{'s' if share.held != 1 else ''} held at the minimum"
        if share.held
        else ""
    )
    place = f"its remainder {float(share.remainder):.2f} ranks {share.rank} of {share.ranked}"
    if share.extra:
        got = f"{place}, within the {share.left_over} left after whole parts: one more"
    else:
        got = f"{place}, after the {share.left_over} left after whole parts were given out"
    return (
        f"{method}: its quota of the {share.seats} licenses shared{held} is"
        f" {float(share.quota):.2f}, whole part {share.whole}; {got}, so {share.count}"
    )


def _summary(
    rules: AllotmentRules,
    results: Sequence[RegionAllotment],
    rounded: Sequence[int],
    total_population: int,
) -> AllotmentSummary:
    total = sum(r.allotment for r in results)
    minimum = number_words(rules.minimum)
    if rules.method == "largest_remainder":
        text = (
            f"{total} licenses allotted, exactly the target of {rules.target}: the largest"
            f" remainder method (ce_allotment.method, an opt-in of policy.yaml) keeps the"
            f" minimum of {minimum} per region and shares the rest by remainder. §2"
        )
    else:
        parts = [f"{total} licenses allotted against the target of {rules.target}"]
        # Only the regions the minimum raised are said to gain by it; a region whose value
        # is below the minimum but rounds to it anyway is named as such.
        pairs = [(r, r.allotment - rnd) for r, rnd in zip(results, rounded, strict=True)]
        lifted = [r.region for r, gain in pairs if r.minimum_applied and gain > 0]
        anyway = [r.region for r, gain in pairs if r.minimum_applied and gain <= 0]
        if lifted:
            extra = sum(gain for r, gain in pairs if r.minimum_applied and gain > 0)
            parts.append(f"the minimum of {minimum} adds {extra} for {', '.join(lifted)}")
        if anyway:
            parts.append(
                f"{', '.join(anyway)} {'is' if len(anyway) == 1 else 'are'} below {minimum}"
                " and designated the minimum (rounding alone gives the same)"
            )
        rounding_difference = sum(rounded) - rules.target
        if rounding_difference:
            verb = "adds" if rounding_difference > 0 else "removes"
            parts.append(f"rounding {verb} {abs(rounding_difference)}")
        parts.append(
            f"the policy does not say how to round: {_ROUNDING_WORDS[rules.rounding]} is"
            " the reading chosen in policy.yaml (ce_allotment.rounding)"
        )
        text = "; ".join(parts) + ". §2"
    return AllotmentSummary(
        total_population=total_population,
        target=rules.target,
        total_allotment=total,
        method=rules.method,
        explanation=text,
    )


@dataclass(frozen=True, slots=True)
class RemainderShare:
    """How the largest remainder method gave one region its licenses, to explain it."""

    count: int
    held_at_minimum: bool
    seats: int = 0  # licenses shared by remainder among the regions not held
    held: int = 0  # regions held at the minimum
    quota: Fraction = Fraction(0)
    whole: int = 0
    remainder: Fraction = Fraction(0)
    rank: int = 0
    ranked: int = 0
    left_over: int = 0
    extra: bool = False


def largest_remainder_with_minimum(
    populations: Sequence[int], target: int, minimum: int
) -> list[RemainderShare]:
    """Hamilton's method, with regions below the minimum fixed at it and the rest re-shared.

    Regions whose share would fall below the minimum get the minimum; the remaining
    licenses are shared among the other regions by largest remainder, repeating until no
    region falls below. Remainder ties go to the larger population, then to the region
    listed first.
    """
    held: dict[int, tuple[Fraction, int]] = {}  # region -> (its quota when held, seats then)
    while True:
        free = [i for i in range(len(populations)) if i not in held]
        seats = target - minimum * len(held)
        shares = _hamilton([populations[i] for i in free], seats)
        below = [(i, s) for i, s in zip(free, shares, strict=True) if s.count < minimum]
        if not below:
            break
        for i, share in below:
            held[i] = (share.quota, seats)
    by_region = dict(zip(free, shares, strict=True))
    result = []
    for i in range(len(populations)):
        if i in held:
            quota, shared = held[i]
            result.append(RemainderShare(minimum, True, seats=shared, quota=quota))
        else:
            result.append(replace(by_region[i], seats=seats, held=len(held)))
    return result


def _hamilton(populations: Sequence[int], seats: int) -> list[RemainderShare]:
    total = sum(populations)
    if not populations or total == 0:
        return [RemainderShare(0, False) for _ in populations]
    quotas = [Fraction(p * seats, total) for p in populations]
    wholes = [math.floor(q) for q in quotas]
    left = seats - sum(wholes)
    order = sorted(
        range(len(populations)),
        key=lambda i: (-(quotas[i] - wholes[i]), -populations[i], i),
    )
    rank = {i: position for position, i in enumerate(order, start=1)}
    return [
        RemainderShare(
            count=wholes[i] + (1 if rank[i] <= left else 0),
            held_at_minimum=False,
            quota=quotas[i],
            whole=wholes[i],
            remainder=quotas[i] - wholes[i],
            rank=rank[i],
            ranked=len(populations),
            left_over=left,
            extra=rank[i] <= left,
        )
        for i in range(len(populations))
    ]
