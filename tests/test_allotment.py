"""§2 CE Access Only allotment: the worked example, the minimum, rounding and methods."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.allotment import allot, region_populations, round_value
from engine.model import AllotmentRules, CountyRow, Inputs, RegionRow
from policy import adopted_policy_path, load_policy_bytes

ADOPTED = AllotmentRules(target=20, minimum=2, rounding="nearest", method="formula")


def counts(rules: AllotmentRules, populations: list[int]) -> list[int]:
    results, _, problems = allot(rules, [(f"R{i}", p) for i, p in enumerate(populations)])
    assert not problems
    return [r.allotment for r in results]


def test_policy_worked_example_region_1_gets_4() -> None:
    results, summary, problems = allot(
        ADOPTED, [("Region 1", 596_788), ("Rest of the BoS", 2_909_430 - 596_788)]
    )
    region1 = results[0]
    assert not problems
    assert region1.allotment == 4
    assert region1.formula_value == pytest.approx(4.1024, abs=1e-4)
    assert region1.share == pytest.approx(596_788 / 2_909_430)
    assert not region1.minimum_applied
    assert region1.explanation == (
        "596,788 / 2,909,430 × 20 = 4.10, rounded to the nearest whole license (halves up): 4. §2"
    )
    assert summary is not None and summary.total_population == 2_909_430


def test_region_below_two_gets_two() -> None:
    results, summary, _ = allot(ADOPTED, [("Tiny", 32_984), ("Rest", 2_909_430 - 32_984)])
    tiny = results[0]
    assert tiny.formula_value == pytest.approx(0.2267, abs=1e-4)
    assert tiny.allotment == 2
    assert tiny.minimum_applied
    assert "designated the minimum of 2" in tiny.explanation
    assert summary is not None
    assert summary.total_allotment == 22 and summary.target == 20
    assert "the minimum of two adds 2 for Tiny" in summary.explanation


def test_the_total_credits_the_minimum_only_to_the_regions_it_raised() -> None:
    """Values 0.6 and 1.7: the minimum raises the first by 1; the second rounds to 2 by
    itself, so the Total names it as rounding to the minimum anyway."""
    results, summary, _ = allot(ADOPTED, [("Low", 30), ("Near", 85), ("Rest", 885)])
    assert [(r.region, r.allotment, r.minimum_applied) for r in results] == [
        ("Low", 2, True),
        ("Near", 2, True),
        ("Rest", 18, False),
    ]
    assert summary is not None
    assert "the minimum of two adds 1 for Low;" in summary.explanation
    assert "Near is below two and designated the minimum (rounding alone gives the same)" in (
        summary.explanation
    )


@pytest.mark.parametrize(
    ("value", "nearest", "down", "up"),
    [
        (Fraction(5, 2), 3, 2, 3),
        (Fraction(9, 2), 5, 4, 5),
        (Fraction(41, 10), 4, 4, 5),
        (Fraction(49, 10), 5, 4, 5),
        (Fraction(4), 4, 4, 4),
        (Fraction(1, 10), 0, 0, 1),
    ],
)
def test_rounding_modes(value: Fraction, nearest: int, down: int, up: int) -> None:
    assert round_value(value, "nearest") == nearest
    assert round_value(value, "down") == down
    assert round_value(value, "up") == up


def test_exact_half_rounds_up_even_where_floats_would_not() -> None:
    # 1 / 8 of 20 = 2.5 exactly: nearest gives 3, down 2, up 3.
    populations = [1, 7]
    assert counts(ADOPTED, populations)[0] == 3
    assert counts(AllotmentRules(20, 2, "down", "formula"), populations)[0] == 2
    assert counts(AllotmentRules(20, 2, "up", "formula"), populations)[0] == 3
    # 0.145 x 20 = 2.9000000000000004 in floats; exact arithmetic keeps it honest.
    assert counts(AllotmentRules(100, 0, "nearest", "formula"), [29, 171]) == [15, 86]


def test_total_may_differ_from_target_under_formula() -> None:
    results, summary, _ = allot(ADOPTED, [(f"R{i}", 100) for i in range(12)])
    assert [r.allotment for r in results] == [2] * 12
    assert summary is not None and summary.total_allotment == 24
    assert "24 licenses allotted against the target of 20" in summary.explanation


# ------------------------------------------------------------- largest remainder

LR0 = AllotmentRules(target=0, minimum=0, rounding="nearest", method="largest_remainder")


@pytest.mark.parametrize(
    ("populations", "seats", "expected"),
    # Reference cases from the apportionment package's tests (Hamilton method).
    [
        ([14, 28, 7, 35], 12, [2, 4, 1, 5]),
        ([0, 14, 28, 0, 0], 6, [0, 2, 4, 0, 0]),
        ([10, 9, 8, 8, 11, 12], 3, [1, 0, 0, 0, 1, 1]),
        ([5117, 4400, 162, 161, 160], 100, [51, 44, 2, 2, 1]),
        ([9061, 7179, 5259, 3319, 1182], 26, [9, 7, 5, 4, 1]),
    ],
)
def test_largest_remainder_without_minimum_is_hamilton(
    populations: list[int], seats: int, expected: list[int]
) -> None:
    rules = AllotmentRules(target=seats, minimum=0, rounding="nearest", method="largest_remainder")
    assert counts(rules, populations) == expected


def test_largest_remainder_meets_target_and_keeps_minimum() -> None:
    rules = AllotmentRules(target=20, minimum=2, rounding="nearest", method="largest_remainder")
    sample = [
        596_788,
        322_655,
        245_860,
        361_173,
        202_186,
        253_944,
        210_023,
        382_869,
        300_948,
        32_984,
    ]
    # Ten regions x two = 20: the minimum uses the whole target.
    assert counts(rules, sample) == [2] * 10
    # With 30 licenses (worked by hand): Region 10's 0.34 is lifted to 2, and the other 28
    # are shared by largest remainder among the other nine regions.
    rules30 = AllotmentRules(target=30, minimum=2, rounding="nearest", method="largest_remainder")
    assert counts(rules30, sample) == [6, 3, 2, 4, 2, 2, 2, 4, 3, 2]
    # SPEC §2: Minimum Applied follows the value, not being held while the rest are
    # re-shared: at 20 every region gets 2, but only Regions 3, 5, 6, 7 and 10 have a
    # value below 2 (1.69, 1.39, 1.75, 1.44 and 0.23; Region 2's is 2.22).
    results, _, _ = allot(rules, [(f"R{i}", p) for i, p in enumerate(sample, 1)])
    applied = [r.region for r in results if r.minimum_applied]
    assert applied == ["R3", "R5", "R6", "R7", "R10"]
    assert "every region gets 2" in results[1].explanation


def test_largest_remainder_refuses_more_minimums_than_target() -> None:
    rules = AllotmentRules(target=20, minimum=3, rounding="nearest", method="largest_remainder")
    results, summary, problems = allot(rules, [(f"R{i}", 1000 + i) for i in range(7)])
    assert results == [] and summary is None
    assert problems[0].severity == "Error"
    assert "7 regions × 3 = 21 is more than the target of 20" in problems[0].problem
    assert problems[0].where.column == "ce_allotment.method"


def test_a_policy_that_cannot_keep_its_minimum_holds_allotments_back_naming_the_policy() -> None:
    policy = load_policy_bytes(
        adopted_policy_path()
        .read_bytes()
        .replace(b"method: formula", b"method: largest_remainder")
        .replace(b"minimum: 2", b"minimum: 5"),
        "lr.yaml",
    )
    regions = tuple(RegionRow(f"R{i}", 1000 + i, row=i + 1) for i in range(1, 6))
    results = engine.recalculate(policy, Inputs(regions=regions), dt.date(2026, 11, 24))
    assert results.held_back["allotments"] == (
        "the policy's ce_allotment settings cannot be applied (see Problems)"
    )
    assert any("5 regions × 5 = 25 is more than" in p.problem for p in results.problems)


# -------------------------------------------------------------- populations


def test_population_comes_from_counties_when_present() -> None:
    regions = [RegionRow("R1", None, row=2), RegionRow("R2", 500, row=3)]
    counties = [
        CountyRow("A", "R1", 100, row=2),
        CountyRow("B", "r1 ", 50, row=3),
        CountyRow("C", "R2", 400, row=4),
    ]
    resolved, problems = region_populations(regions, counties)
    assert [(r.region, p) for r, p in resolved] == [("R1", 150), ("R2", 400)]
    assert len(problems) == 1
    assert problems[0].severity == "Warning"
    assert problems[0].where.sheet == "Regions" and problems[0].where.row == 3
    assert "differs from the sum of its Counties rows, 400" in problems[0].problem


def test_population_missing_and_unknown_county_region_are_errors() -> None:
    regions = [RegionRow("R1", None, row=2)]
    counties = [CountyRow("A", "Nowhere", 100, row=2)]
    resolved, problems = region_populations(regions, counties)
    assert resolved == []
    assert {(p.severity, p.where.sheet) for p in problems} == {
        ("Error", "Regions"),
        ("Error", "Counties"),
    }


# -------------------------------------------------------------- properties

populations = st.lists(st.integers(1, 5_000_000), min_size=1, max_size=15)


@settings(max_examples=400)
@given(
    populations=populations,
    target=st.integers(1, 60),
    minimum=st.integers(0, 4),
    rounding=st.sampled_from(["nearest", "down", "up"]),
    method=st.sampled_from(["formula", "largest_remainder"]),
)
def test_no_allotment_below_the_minimum(
    populations: list[int], target: int, minimum: int, rounding: str, method: str
) -> None:
    rules = AllotmentRules(target, minimum, rounding, method)  # type: ignore[arg-type]
    results, _, problems = allot(rules, [(str(i), p) for i, p in enumerate(populations)])
    if problems:
        assert method == "largest_remainder" and len(populations) * minimum > target
        return
    assert all(r.allotment >= minimum for r in results)
    for r in results:
        # §2 "If the value is less than two": the value decides, not the rounded one,
        # whichever the method (SPEC §2: Minimum Applied is Yes whenever the value is).
        value = Fraction(r.population * target, sum(populations))
        assert r.minimum_applied == (value < minimum)
        if r.minimum_applied:
            assert r.allotment == minimum
        if method == "formula":
            assert r.allotment == max(minimum, round_value(value, rounding))


@settings(max_examples=400)
@given(populations=populations, target=st.integers(1, 60), minimum=st.integers(0, 4))
def test_largest_remainder_totals_exactly_the_target(
    populations: list[int], target: int, minimum: int
) -> None:
    rules = AllotmentRules(target, minimum, "nearest", "largest_remainder")
    results, summary, problems = allot(rules, [(str(i), p) for i, p in enumerate(populations)])
    if len(populations) * minimum > target:
        assert problems and not results
        return
    assert sum(r.allotment for r in results) == target
    assert summary is not None and summary.total_allotment == target
    assert all(r.allotment >= minimum for r in results)
    # Regions the minimum did not lift stay within one license of their exact share.
    if minimum == 0:
        for r in results:
            assert abs(r.allotment - r.formula_value) < 1


@settings(max_examples=200)
@given(populations=populations, target=st.integers(1, 60))
def test_formula_matches_the_policy_formula(populations: list[int], target: int) -> None:
    rules = AllotmentRules(target, 2, "nearest", "formula")
    total = sum(populations)
    for pop, count in zip(populations, counts(rules, populations), strict=True):
        exact = Fraction(pop * target, total)
        assert count == max(2, int(exact + Fraction(1, 2)))


def test_the_explanation_never_shows_a_value_that_rounds_otherwise() -> None:
    """224,999 / 1,000,000 × 20 = 4.49998: shown as "4.50" it would read as rounding up."""
    rules = AllotmentRules(target=20, minimum=2, rounding="nearest", method="formula")
    results, _, _ = allot(rules, [("R1", 224_999), ("R2", 775_001)])
    assert results[0].allotment == 4
    assert "= 4.49998, rounded" in results[0].explanation
    assert "= 15.50, rounded" in results[1].explanation and results[1].allotment == 16
    worked, _, _ = allot(rules, [("R1", 596_788), ("R2", 2_909_430 - 596_788)])
    assert "596,788 / 2,909,430 × 20 = 4.10, rounded" in worked[0].explanation


@settings(max_examples=300)
@given(populations=populations, target=st.integers(1, 60), minimum=st.integers(0, 4))
def test_the_value_shown_rounds_as_the_value(
    populations: list[int], target: int, minimum: int
) -> None:
    for rounding in ("nearest", "down", "up"):
        rules = AllotmentRules(target, minimum, rounding, "formula")  # type: ignore[arg-type]
        results, _, _ = allot(rules, [(str(i), p) for i, p in enumerate(populations)])
        for r in results:
            shown = Fraction(r.explanation.split(" = ")[1].split(",")[0])
            assert max(minimum, round_value(shown, rounding)) == r.allotment
