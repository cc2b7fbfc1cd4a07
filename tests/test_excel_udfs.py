"""The HMIS_* worksheet functions give the engine's own answers, in every way Excel calls them.

Excel passes numbers as floats, dates as serial numbers (or datetimes, or ISO text typed
in a cell), a single cell sometimes as [[value]], blanks as None, "" or 0. Each function is
checked against the engine function it wraps on generated inputs, in all those shapes, and
through xlwings' own custom-function dispatcher (the one xlwings Lite and Server run).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.allotment import allotment_for
from engine.inactivity import finding_for
from engine.model import LicenseRow, Policy
from engine.selfpay import estimate, quotes
from policy import lookup
from tests.conftest import policy_text
from workbook.excel import udfs
from workbook.excel.udfs import (
    HMIS_ALLOTMENT,
    HMIS_LICENSE_FINDING,
    HMIS_POLICY,
    HMIS_SELF_PAY_COST,
    POLICY_VARIABLE,
)
from workbook.tables import WorkbookSnapshot, read_inputs

EXCEL_EPOCH = dt.date(1899, 12, 30)


def serial(day: dt.date) -> float:
    return float((day - EXCEL_EPOCH).days)


# ---------------------------------------------------------------- the worked examples


def test_the_policy_s_worked_examples() -> None:
    assert HMIS_ALLOTMENT(596788, 2909430) == 4
    assert HMIS_ALLOTMENT(596788.0, 2909430.0) == 4  # as Excel passes numbers
    assert HMIS_ALLOTMENT(50_000, 2909430) == 2  # below two gets two
    assert HMIS_SELF_PAY_COST(3, 2) == 14259
    assert HMIS_SELF_PAY_COST(3.0, [[2.0]]) == 14259
    assert HMIS_POLICY("ce_allotment.target") == 20
    assert HMIS_POLICY("inactivity.client_data_window.months") == 6
    assert HMIS_POLICY("policy.version") == "1.1.0"


def test_license_finding_examples_with_dates_as_excel_sends_them() -> None:
    as_of = dt.date(2026, 11, 24)
    # No client data since 2025-12-19: before the window start 2026-05-24.
    assert (
        HMIS_LICENSE_FINDING(
            serial(dt.date(2024, 6, 10)),
            serial(dt.date(2024, 6, 12)),
            serial(dt.date(2025, 12, 19)),
            serial(as_of),
        )
        == "Inactive"
    )
    assert HMIS_LICENSE_FINDING(dt.datetime(2024, 6, 10), None, "2026-10-01", as_of) == "Active"
    # Granted 2026-10-01, never signed in, 30 days passed.
    assert HMIS_LICENSE_FINDING("2026-10-01", "", 0, as_of) == "Not signed in"
    assert HMIS_LICENSE_FINDING("2026-11-01", None, None, as_of) == "Active"


# --------------------------------------------------------- agreement with the engine


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(min_value=1, max_value=50_000_000),
    share=st.floats(min_value=0.0, max_value=1.0),
    shape=st.sampled_from(["int", "float", "cell"]),
)
def test_allotment_agrees_with_the_engine(
    adopted: Policy, total: int, share: float, shape: str
) -> None:
    population = max(1, round(total * share))
    wrap = {"int": int, "float": float, "cell": lambda v: [[float(v)]]}[shape]
    expected = allotment_for(adopted.ce_allotment, population, total)
    assert HMIS_ALLOTMENT(wrap(population), wrap(total)) == expected


DAY = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2030, 12, 31))


def _as_sent(day: dt.date | None, shape: str) -> object:
    if day is None:
        return {"serial": None, "datetime": "", "date": None, "iso": 0, "cell": [[None]]}[shape]
    return {
        "serial": serial(day),
        "datetime": dt.datetime.combine(day, dt.time(0)),
        "date": day,
        "iso": day.isoformat(),
        "cell": [[serial(day)]],
    }[shape]


@settings(max_examples=400, deadline=None)
@given(
    granted=DAY,
    signed=st.one_of(st.none(), DAY),
    last=st.one_of(st.none(), DAY),
    as_of=DAY,
    shape=st.sampled_from(["serial", "datetime", "date", "iso", "cell"]),
)
def test_license_finding_agrees_with_the_engine(
    adopted: Policy,
    granted: dt.date,
    signed: dt.date | None,
    last: dt.date | None,
    as_of: dt.date,
    shape: str,
) -> None:
    row = LicenseRow("", "", "", "", granted, first_sign_in=signed, last_client_data_entry=last)
    expected, _ = finding_for(adopted, row, as_of)
    got = HMIS_LICENSE_FINDING(
        _as_sent(granted, shape),
        _as_sent(signed, shape),
        _as_sent(last, shape),
        _as_sent(as_of, shape),
    )
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(licenses=st.integers(1, 500), years=st.integers(1, 30))
def test_self_pay_cost_agrees_with_the_engine(adopted: Policy, licenses: int, years: int) -> None:
    total = estimate(adopted, licenses, years).total
    got = HMIS_SELF_PAY_COST(float(licenses), float(years))
    assert Decimal(str(got)) == total


@settings(max_examples=100, deadline=None)
@given(licenses=st.integers(-3, 6), years=st.integers(-3, 6))
def test_self_pay_cost_refuses_what_the_self_pay_estimates_sheet_refuses(
    adopted: Policy, licenses: int, years: int
) -> None:
    """A request for 0 licenses or 0 years is an Error on the Self-Pay Requests row and
    gets no Self-Pay Estimates row; the function refuses it too, with the same words
    (before, HMIS_SELF_PAY_COST(3, 0) gave 555 and (0, 2) gave 0)."""
    header = ["Request ID", "Organization", "Licenses Requested", "Years"]
    grids = {"Self-Pay Requests": [header, ["SP-2", "Solo", licenses, years]]}
    read = read_inputs(WorkbookSnapshot(grids))
    refused = [p.problem for p in read.problems if p.where.sheet == "Self-Pay Requests"]
    got = HMIS_SELF_PAY_COST(float(licenses), float(years))
    if read.inputs.self_pay_requests:
        [quote] = quotes(adopted, read.inputs.self_pay_requests)
        assert not refused and got == quote.total
    else:
        assert isinstance(got, str) and got.startswith("Error: "), got
        assert got.endswith(refused[0].removeprefix("Self-pay request SP-2: ")), (got, refused)


@pytest.mark.parametrize(("licenses", "years"), [(3, 0), (0, 2), (0, 0), (0.0, [[2.0]])])
def test_self_pay_cost_of_no_license_or_no_year_is_an_error(
    licenses: object, years: object
) -> None:
    got = HMIS_SELF_PAY_COST(licenses, years)
    assert isinstance(got, str) and got.startswith("Error: ") and "is less than 1." in got, got


def _leaves(node: object, path: str = "") -> list[str]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, f"{path}{key}.")]
    return [path.rstrip(".")]


def test_every_policy_value_is_the_loaded_policy_s(adopted: Policy) -> None:
    for key in _leaves(adopted.raw):
        value = lookup(adopted, key)
        expected = ", ".join(map(str, value)) if isinstance(value, list) else value
        assert HMIS_POLICY(key) == expected, key
    assert HMIS_POLICY("sha256") == adopted.sha256


# ------------------------------------------------------------------ bad input


ANYTHING = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.dates().map(lambda d: d),
    st.lists(
        st.lists(st.one_of(st.none(), st.text(max_size=5), st.floats()), max_size=3), max_size=3
    ),
)


@settings(max_examples=300, deadline=None)
@given(a=ANYTHING, b=ANYTHING, c=ANYTHING, d=ANYTHING)
def test_bad_input_gives_a_readable_error_never_an_exception(
    a: object, b: object, c: object, d: object
) -> None:
    for result in (
        HMIS_ALLOTMENT(a, b),
        HMIS_LICENSE_FINDING(a, b, c, d),
        HMIS_SELF_PAY_COST(a, b),
        HMIS_POLICY(a),
    ):
        assert isinstance(result, int | float | str | bool), result
        if isinstance(result, str) and result.startswith("Error"):
            assert "Traceback" not in result and len(result) < 400


def test_a_login_is_a_sign_in_for_the_function_as_on_the_sheet() -> None:
    """Granted 2026-10-01, no First Sign-In or client data, a login on 10-05: the
    Inactivity Report says Active (a login is a sign-in, §1.2), and so does the function
    given the login; without it, it can only say Not signed in."""
    granted, login, as_of = 46296.0, 46300.0, 46350.0  # 2026-10-01, 10-05, 11-24
    assert HMIS_LICENSE_FINDING(granted, None, None, as_of) == "Not signed in"
    assert HMIS_LICENSE_FINDING(granted, None, None, as_of, None, login) == "Active"
    assert HMIS_POLICY([["ce_allotment.target"]]) == 20  # a key in a cell, as a 1x1 range


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (lambda: HMIS_ALLOTMENT("abc", 5), 'population: "abc" is not a whole number'),
        (lambda: HMIS_ALLOTMENT(None, 5), "population is blank"),
        (lambda: HMIS_ALLOTMENT(10, 5), "at most the total population"),
        (lambda: HMIS_ALLOTMENT(1.5, 5), "not a whole number"),
        (lambda: HMIS_SELF_PAY_COST(-1, 2), "licenses: -1 is less than 1"),
        (lambda: HMIS_SELF_PAY_COST(3, 0), "years: 0 is less than 1"),
        (lambda: HMIS_LICENSE_FINDING("31/02/2026", None, None, None), "granted_on"),
        (lambda: HMIS_LICENSE_FINDING(None, None, None, None), "granted_on is blank"),
        (lambda: HMIS_LICENSE_FINDING(45000, None, None, [[1, 2]]), "single cell"),
        (lambda: HMIS_POLICY("ce_allotment"), "ask for one of: ce_allotment.target"),
        (lambda: HMIS_POLICY("ce_allotment.nope"), "ce_allotment.nope is not a key"),
        (lambda: HMIS_POLICY(""), "key is blank"),
    ],
)
def test_each_error_says_what_is_wrong(result: object, words: str) -> None:
    text = result()  # type: ignore[operator]
    assert isinstance(text, str) and text.startswith("Error: ") and words in text, text


# --------------------------------------------------------------- which policy


def test_the_policy_argument_a_file_or_the_cells_of_a_policy_sheet(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    file.write_text(policy_text(target="40"), encoding="utf-8")
    assert HMIS_ALLOTMENT(596788, 2909430, str(file)) == 8
    assert HMIS_ALLOTMENT(596788, 2909430, [[str(file)]]) == 8
    cells = [[line] for line in policy_text(target="10", minimum="1").splitlines()]
    assert HMIS_ALLOTMENT(596788, 2909430, cells) == 2
    assert HMIS_POLICY("ce_allotment.minimum", cells) == 1
    blank_cells = [[None], [""]]
    assert HMIS_ALLOTMENT(596788, 2909430, blank_cells) == 4  # blank: the default
    # Under largest_remainder one population cannot give the sheet's number: the
    # function says so rather than show a number the Allotments sheet contradicts.
    shared = [[line] for line in policy_text(method="largest_remainder").splitlines()]
    text = HMIS_ALLOTMENT(596788, 2909430, shared)
    assert isinstance(text, str) and text.startswith("Error: ") and "Allotments sheet" in text


def test_a_changed_policy_file_is_read_again(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    file.write_text(policy_text(target="40"), encoding="utf-8")
    assert HMIS_POLICY("ce_allotment.target", str(file)) == 40
    file.write_text(policy_text(target="30") + "\n# edited\n", encoding="utf-8")
    assert HMIS_POLICY("ce_allotment.target", str(file)) == 30


def test_bad_policy_arguments_are_errors_that_say_why(tmp_path: Path) -> None:
    relative = HMIS_ALLOTMENT(596788, 2909430, "policy.yaml")
    assert relative.startswith("Error: ") and "full path" in relative
    missing = HMIS_ALLOTMENT(596788, 2909430, str(tmp_path / "nope.yaml"))
    assert missing.startswith("Error: ") and "no such policy file" in missing
    cells = [[line] for line in policy_text(minimum="-1").splitlines()]
    invalid = HMIS_ALLOTMENT(596788, 2909430, cells)
    assert invalid.startswith("Error: ") and "ce_allotment.minimum" in invalid


def test_the_environment_variable_names_the_default_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "coc.yaml"
    file.write_text(policy_text(target="40"), encoding="utf-8")
    monkeypatch.setenv(POLICY_VARIABLE, str(file))
    assert HMIS_ALLOTMENT(596788, 2909430) == 8
    assert HMIS_POLICY("source") == str(file)


# ------------------------------------------------------- what Excel is told about them


def test_every_argument_is_explained_for_the_function_wizard() -> None:
    for function in udfs.FUNCTIONS:
        assert function.__doc__ and len(function.__doc__) <= 255, function.__name__
        assert "\n" not in function.__doc__.strip()
        for name in inspect.signature(function).parameters:
            assert len(udfs.ARGUMENT_DOCS[name]) <= 255, name


def test_xlwings_lite_registers_the_same_functions_with_their_help() -> None:
    from xlwings.server import custom_functions_meta

    import workbook.excel.lite as lite

    meta = {f["name"]: f for f in custom_functions_meta(lite)["functions"]}
    assert set(meta) == {f.__name__ for f in udfs.FUNCTIONS}
    for function in udfs.FUNCTIONS:
        entry = meta[function.__name__]
        assert entry["description"] == function.__doc__
        names = [p["name"] for p in entry["parameters"]]
        assert names == list(inspect.signature(function).parameters)
        for parameter in entry["parameters"]:
            assert parameter["description"] == udfs.ARGUMENT_DOCS[parameter["name"]]
        assert entry["parameters"][-1].get("optional") is True  # policy


def _lite_call(name: str, *args: object) -> object:
    import xlwings as xw
    from xlwings.server import custom_functions_call

    import workbook.excel.lite as lite

    data = {
        "func_name": name,
        "args": list(args),
        "version": xw.__version__,
        "client": "Office.js",
        "runtime": "1.4",
        "culture_info_name": "en-US",
    }
    return asyncio.run(custom_functions_call(data, lite))


def test_through_the_dispatcher_xlwings_lite_runs() -> None:
    # Office.js passes every argument as a 2-D array and omitted ones as None.
    assert _lite_call("HMIS_ALLOTMENT", [[596788]], [[2909430]], None) == [[4]]
    assert _lite_call("HMIS_SELF_PAY_COST", [[3]], [[2]], None) == [[14259]]
    assert _lite_call("HMIS_POLICY", [["ce_allotment.target"]], None) == [[20]]
    found = _lite_call("HMIS_LICENSE_FINDING", [[45453]], [[""]], [[46010]], [[46350]], None)
    assert found == [["Inactive"]]
    cells = [[line] for line in policy_text(target="40").splitlines()]
    assert _lite_call("HMIS_ALLOTMENT", [[596788]], [[2909430]], cells) == [[8]]
    error = _lite_call("HMIS_ALLOTMENT", [["x"]], [[2909430]], None)
    assert error[0][0].startswith("Error: population")
