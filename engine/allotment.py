"""§2 CE Access Point Only allotment: population share x target, with a minimum per region.

Arithmetic is exact (fractions), so a value that is exactly half way (2.5) rounds the
way the policy says and not the way binary floating point happens to fall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from engine.dates import number_words
from engine.model import (
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
    regions: Sequence[RegionRow], counties: Sequence[CountyRow] | None
) -> tuple[list[tuple[RegionRow, int]], list[Problem]]:
    """Each region's population: the sum of its Counties rows when there are any, else Regions."""
    problems: list[Problem] = []
    known = {name_key(r.region) for r in regions}
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
    minimum_words = number_words(rules.minimum)

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
        counts, raised = _largest_remainder_with_minimum(
            [pop for _, pop in populations], rules.target, rules.minimum
        )
    else:
        counts = [max(rules.minimum, r) for r in rounded]
        raised = [r < rules.minimum for r in rounded]

    results = []
    for (region, pop), value, r, count, min_applied in zip(
        populations, values, rounded, counts, raised, strict=True
    ):
        arithmetic = f"{pop:,} / {total:,} × {rules.target} = {float(value):.2f}"
        if rules.method == "largest_remainder":
            text = (
                f"{arithmetic}; the largest remainder method, which meets the target of"
                f" {rules.target} exactly, gives {count}"
            )
            if min_applied:
                text += f", the minimum of {minimum_words}"
        elif min_applied:
            text = (
                f"{arithmetic}, {_ROUNDING_WORDS[rules.rounding]}: {r}; that is less than"
                f" {minimum_words}, so the region is designated the minimum of {count}"
            )
        else:
            text = f"{arithmetic}, {_ROUNDING_WORDS[rules.rounding]}: {count}"
        results.append(
            RegionAllotment(
                region=region,
                population=pop,
                share=pop / total,
                formula_value=float(value),
                allotment=count,
                minimum_applied=min_applied,
                explanation=f"{text}. §2",
            )
        )
    summary = _summary(rules, results, rounded, total)
    return results, summary, []


def _summary(
    rules: AllotmentRules,
    results: Sequence[RegionAllotment],
    rounded: Sequence[int],
    total_population: int,
) -> AllotmentSummary:
    total = sum(r.allotment for r in results)
    if rules.method == "largest_remainder":
        text = (
            f"{total} licenses allotted, exactly the target of {rules.target}"
            f" (largest remainder method, minimum {rules.minimum} per region). §2"
        )
    else:
        parts = [f"{total} licenses allotted against the target of {rules.target}"]
        raised = [r for r in results if r.minimum_applied]
        if raised:
            extra = sum(
                r.allotment - rnd
                for r, rnd in zip(results, rounded, strict=True)
                if r.minimum_applied
            )
            parts.append(
                f"the minimum of {number_words(rules.minimum)} adds {extra} for "
                + ", ".join(r.region for r in raised)
            )
        rounding_difference = sum(rounded) - rules.target
        if rounding_difference:
            verb = "adds" if rounding_difference > 0 else "removes"
            parts.append(f"rounding {verb} {abs(rounding_difference)}")
        text = "; ".join(parts) + ". §2"
    return AllotmentSummary(
        total_population=total_population,
        target=rules.target,
        total_allotment=total,
        method=rules.method,
        explanation=text,
    )


def _largest_remainder_with_minimum(
    populations: Sequence[int], target: int, minimum: int
) -> tuple[list[int], list[bool]]:
    """Hamilton's method, with regions below the minimum fixed at it and the rest re-shared.

    Regions whose share would fall below the minimum get the minimum; the remaining
    licenses are shared among the other regions by largest remainder, repeating until no
    region falls below. Remainder ties go to the larger population, then to the region
    listed first.
    """
    fixed: set[int] = set()
    while True:
        free = [i for i in range(len(populations)) if i not in fixed]
        seats = target - minimum * len(fixed)
        shares = _hamilton([populations[i] for i in free], seats)
        below = [i for i, s in zip(free, shares, strict=True) if s < minimum]
        if not below:
            counts = [minimum] * len(populations)
            for i, s in zip(free, shares, strict=True):
                counts[i] = s
            return counts, [i in fixed for i in range(len(populations))]
        fixed.update(below)


def _hamilton(populations: Sequence[int], seats: int) -> list[int]:
    total = sum(populations)
    if not populations or total == 0:
        return [0] * len(populations)
    quotas = [Fraction(p * seats, total) for p in populations]
    counts = [math.floor(q) for q in quotas]
    left = seats - sum(counts)
    order = sorted(
        range(len(populations)),
        key=lambda i: (-(quotas[i] - counts[i]), -populations[i], i),
    )
    for i in order[:left]:
        counts[i] += 1
    return counts
