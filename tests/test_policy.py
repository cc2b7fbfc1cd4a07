"""policy.yaml: the adopted values, the schema, and refusals that name file, line and key."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from policy import adopted_policy_path, load_policy, load_policy_bytes, lookup, policy_schema
from policy.errors import PolicyError
from tests.conftest import REPO, policy_text


def refusal(text: str, source: str = "policy.yaml") -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy_bytes(text.encode(), source)
    return str(caught.value)


def test_adopted_policy_has_the_policy_text_numbers() -> None:
    policy = load_policy(adopted_policy_path())
    assert policy.inactivity.client_data_window.months == 6
    assert policy.inactivity.first_sign_in_window.days == 30
    assert policy.ce_allotment.target == 20 and policy.ce_allotment.minimum == 2
    assert policy.ce_allotment.rounding == "nearest" and policy.ce_allotment.method == "formula"
    assert policy.license_types["CE Access Only"].counts_against_ce_allotment
    assert not policy.license_types["Housing Project"].counts_against_ce_allotment
    assert policy.one_time_fees == {"Software access fee": Decimal(185)}
    assert sum(policy.annual_fees.values()) == 2284
    assert policy.effective_date == dt.date(2025, 1, 1)
    assert len(policy.sha256) == 64


def test_every_adopted_value_quotes_its_clause() -> None:
    text = adopted_policy_path().read_text(encoding="utf-8")
    for clause in ("§1.1", "§1.2", "§1.E1", "§1.E2", "§1.E3", "§2", "§3", "§4", "Addendum 2"):
        assert clause in text


def test_schema_describes_every_key() -> None:
    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, child in node.get("properties", {}).items():
                assert "description" in child, f"{path}.{key} has no description"
                walk(child, f"{path}.{key}")
            for key in ("additionalProperties", "items"):
                if isinstance(node.get(key), dict):
                    walk(node[key], f"{path}[{key}]")
            for name, child in node.get("$defs", {}).items():
                assert "description" in child, f"$defs.{name} has no description"
                walk(child, f"$defs.{name}")

    schema = policy_schema()
    assert schema["description"]
    walk(schema, "")


def test_negative_minimum_is_refused_with_line_and_key() -> None:
    text = policy_text(minimum="-1")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "minimum: -1" in t)
    message = refusal(text)
    assert (
        f"policy.yaml:{line} ce_allotment.minimum: -1 is less than the minimum of 0; write a"
        " number of 0 or more"
    ) in message


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        ({"rounding": "closest"}, "ce_allotment.rounding: 'closest' is not allowed; use one of:"),
        ({"sole_license": "no"}, "sole_license: 'no' is not true or false; write true or false"),
        ({"version": "1.0"}, "policy.version: 1.0 is not text; write it in quotes"),
        ({"effective_date": "2025-13-01"}, "'2025-13-01' is not a real date; write yyyy-mm-dd"),
        ({"target": "twenty"}, "ce_allotment.target: 'twenty' is not a number; write a whole"),
        (
            {"client_data_window": "{months: 6, days: 2}"},
            "give exactly one of months, weeks or days",
        ),
        ({"schema_version": "2"}, "schema_version: 2 is newer than this hmis-licensing reads"),
    ],
)
def test_bad_values_are_refused_with_what_is_allowed(
    replacement: dict[str, str], expected: str
) -> None:
    assert expected in refusal(policy_text(**replacement))


def line_with(text: str, written: str) -> int:
    """The 1-based number of the one line of `text` that contains `written`."""
    [number] = [i for i, t in enumerate(text.splitlines(), 1) if written in t]
    return number


def refused(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy_bytes(text.encode())
    return caught.value


# Every period of the schema ($defs/period): its key line in the adopted policy, and the
# example the refusal gives (the adopted value).
PERIODS = {
    "client_data_window": ("inactivity.client_data_window", "{months: 6}"),
    "first_sign_in_window": ("inactivity.first_sign_in_window", "{days: 30}"),
    "every": ("review.every", "{months: 1}"),
    "response_period": ("appeals.response_period", "{months: 1}"),
    "open_ended_exceptions_after": ("review.open_ended_exceptions_after", "{months: 6}"),
}


def test_every_period_of_the_schema_is_tested_here() -> None:
    """A period added to the schema is added to PERIODS (and so to the zero tests)."""
    found: list[str] = []

    def walk(node: object, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            if node.get("$ref") == "#/$defs/period":
                found.append(".".join(path))
            for key, child in node.get("properties", {}).items():
                walk(child, (*path, key))

    walk(policy_schema(), ())
    assert sorted(found) == sorted(dotted for dotted, _ in PERIODS.values())
    units = policy_schema()["$defs"]["period"]["properties"]
    assert {unit: units[unit]["minimum"] for unit in units} == {"months": 1, "weeks": 1, "days": 1}


@pytest.mark.parametrize("unit", ["months", "weeks", "days"])
@pytest.mark.parametrize("key", sorted(PERIODS))
def test_a_zero_period_is_refused_naming_line_key_and_what_to_write(key: str, unit: str) -> None:
    """{months: 0} made §1.1 "inactive after no time without client data" (107 of the
    sample's 140 licenses eligible); {days: 0} for review.every emptied the Watch List."""
    dotted, example = PERIODS[key]
    text = policy_text(**{key: f"{{{unit}: 0}}"})
    line = line_with(text, f"{key}: {{{unit}: 0}}")
    error = refused(text)
    assert error.details[1:] == [
        f"policy.yaml:{line} {dotted}.{unit}: 0 is less than the minimum of 1; write a length"
        f" of at least one day, e.g. `{example}`"
    ]
    assert error.fix == (
        f"Write a length of at least one day for {dotted}, e.g. `{example}`: a period of 0"
        " would make its rule apply at once. The key is described in policy/policy.schema.json."
    )


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from(sorted(PERIODS)),
    unit=st.sampled_from(["months", "weeks", "days"]),
    amount=st.integers(-40, 40),
)
def test_a_period_loads_exactly_when_it_is_at_least_one(key: str, unit: str, amount: int) -> None:
    text = policy_text(**{key: f"{{{unit}: {amount}}}"})
    dotted, _ = PERIODS[key]
    if amount >= 1:
        load_policy_bytes(text.encode())
        return
    error = refused(text)
    line = line_with(text, f"{key}: {{{unit}: {amount}}}")
    assert error.details[1].startswith(
        f"policy.yaml:{line} {dotted}.{unit}: {amount} is less than the minimum of 1;"
        " write a length of at least one day"
    )


def test_a_minimum_above_the_target_is_refused() -> None:
    """minimum: 50 with target: 20 gave "500 licenses over 10 regions (target 20)"."""
    text = policy_text(minimum="50")
    line, target_line = line_with(text, "minimum: 50"), line_with(text, "target: 20")
    error = refused(text)
    assert error.details[1:] == [
        f"policy.yaml:{line} ce_allotment.minimum: 50 is more than the target of 20"
        f" (ce_allotment.target, line {target_line}): one region's minimum cannot be more"
        " than the whole Balance of State's target; write a number of 20 or less, or raise"
        " the target"
    ]
    assert error.fix is not None
    assert error.fix.startswith("Write a ce_allotment.minimum of 20 or less")


@settings(max_examples=80, deadline=None)
@given(target=st.integers(1, 40), minimum=st.integers(0, 60))
def test_a_policy_loads_exactly_when_its_minimum_is_at_most_its_target(
    target: int, minimum: int
) -> None:
    text = policy_text(target=str(target), minimum=str(minimum))
    if minimum <= target:
        assert load_policy_bytes(text.encode()).ce_allotment.minimum == minimum
    else:
        message = refused(text).details[1]
        assert f"ce_allotment.minimum: {minimum} is more than the target of {target}" in message
        assert f"write a number of {target} or less" in message


@pytest.mark.parametrize(
    ("key", "written", "message", "fix"),
    [
        (
            "target",
            "twenty",
            "ce_allotment.target: 'twenty' is not a number; write a whole number such as 20",
            "Write a whole number such as 20 for ce_allotment.target, in digits, without quotes.",
        ),
        (
            "target",
            '"20"',
            "ce_allotment.target: '20' is a number in quotes, which is text; write 20 without"
            " the quotes",
            "Write 20 without the quotes for ce_allotment.target: it is a whole number.",
        ),
        (
            "target",
            "",
            "ce_allotment.target: `target` has no value; write a whole number such as 20",
            "Write a whole number such as 20 for ce_allotment.target, in digits, without quotes.",
        ),
        (
            "client_data_window",
            "{months: 6.5}",
            "inactivity.client_data_window.months: 6.5 is not a whole number; write a whole"
            " number such as 6 or 7",
            "Write a whole number such as 6 or 7 for inactivity.client_data_window.months, in"
            " digits, without quotes.",
        ),
        (
            "sole_license",
            '"true"',
            "inactivity.exceptions.sole_license: 'true' is true in quotes, which is text; write"
            " true without the quotes",
            "Write true without the quotes for inactivity.exceptions.sole_license: it is true"
            " or false.",
        ),
        (
            "level4_list_holder",
            "yes",
            "inactivity.exceptions.level4_list_holder: 'yes' is not true or false; write true"
            " or false",
            "Write true or false for inactivity.exceptions.level4_list_holder, in small"
            " letters, without quotes.",
        ),
        (
            "effective_date",
            "20250101",
            "policy.effective_date: 20250101 is not a date; write a date as YYYY-MM-DD, e.g."
            " 2025-01-01",
            "Write policy.effective_date as a date, YYYY-MM-DD (year, month, day), e.g."
            " 2025-01-01.",
        ),
        (
            "Staff support fee",
            '"2000"',
            "self_pay.annual_fees.Staff support fee: '2000' is a number in quotes, which is"
            " text; write 2000 without the quotes",
            "Write 2000 without the quotes for self_pay.annual_fees.Staff support fee: it is a"
            " number.",
        ),
        (
            "special_request_reasons",
            "Special request",
            "inactivity.special_request_reasons: 'Special request' is not a list; write a list"
            " in square brackets, e.g. [Inactivity revocation, Special request]",
            "Write inactivity.special_request_reasons as a list in square brackets, the items"
            " separated by commas, e.g. [Inactivity revocation, Special request].",
        ),
        (
            "version",
            "1.1",
            'policy.version: 1.1 is not text; write it in quotes: "1.1"',
            'Write policy.version in quotes, e.g. "1.1".',
        ),
    ],
)
def test_a_value_of_the_wrong_type_says_what_to_write_for_its_key(
    key: str, written: str, message: str, fix: str
) -> None:
    """Not "'twenty' is not of type 'integer'" and "Correct the values named above"."""
    text = policy_text(**{key: written}) if written else policy_text(**{key: "X"})
    if not written:
        text = text.replace(f"  {key}: X", f"  {key}:")
    line = line_with(text, f"{key}:{' ' + written if written else ''}")
    error = refused(text)
    assert error.details[1:] == [f"policy.yaml:{line} {message}"]
    assert error.fix == f"{fix} The key is described in policy/policy.schema.json."
    assert "not of type" not in str(error)


def test_a_bad_policys_problems_row_gives_the_fix_for_its_key(tmp_path: Path) -> None:
    from workbook.run import policy_problems

    error = refused(policy_text(target='"20"'))
    [row] = policy_problems(error, tmp_path / "policy.yaml")
    assert row.how_to_fix == (
        "Write 20 without the quotes for ce_allotment.target: it is a whole number. The key"
        " is described in policy/policy.schema.json."
    )


def test_several_problems_keep_the_fix_that_points_at_each_line() -> None:
    error = refused(policy_text(target='"20"', minimum="-1"))
    assert len(error.details) == 3
    assert error.fix == (
        "Correct the values named above; each key is described in policy/policy.schema.json."
    )


def test_unknown_key_suggests_the_right_one() -> None:
    text = policy_text().replace("  minimum: 2", "  minimun: 2\n  minimum: 2")
    message = refusal(text)
    assert "ce_allotment.minimun: unknown key; did you mean 'minimum'?" in message


def test_a_misspelt_required_key_is_one_problem_not_two() -> None:
    """`minimun` for `minimum`: the unknown key's "did you mean" says it all; "minimum:
    missing (required)" beside it would send the editor looking for a second mistake."""
    text = policy_text().replace("  minimum: 2", "  minimun: 2")
    with pytest.raises(PolicyError) as raised:
        load_policy_bytes(text.encode("utf-8"))
    problems = raised.value.details[1:]
    assert len(problems) == 1
    assert "ce_allotment.minimun: unknown key; did you mean 'minimum'?" in problems[0]
    assert "1 problem" in raised.value.details[0]


def test_duplicate_key_is_refused_not_silently_overwritten() -> None:
    text = policy_text().replace("  target: 20", "  target: 20\n  target: 30")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "target: 30" in t)
    message = refusal(text)
    assert f"policy.yaml:{line}: ce_allotment.target is written twice" in message


def test_dates_stay_text_until_validated() -> None:
    policy = load_policy_bytes(policy_text().encode())
    assert policy.raw["policy"]["effective_date"] == "2025-01-01"  # type: ignore[index]


def test_yaml_bomb_is_refused_fast() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)
    )
    assert "anchors and aliases" in refusal(bomb)


def test_an_anchor_alone_is_refused_on_its_own_line() -> None:
    """The refusal says anchors are not allowed: one without an alias is not either."""
    text = policy_text().replace("  target: 20", "  target: &t 20")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "&t 20" in t)
    message = refusal(text)
    assert f"policy.yaml:{line}: anchors and aliases (& and *) are not allowed" in message


def test_huge_file_is_refused() -> None:
    assert "a policy file is a few kilobytes" in refusal("# x\n" * 400_000)


def test_tabs_and_syntax_errors_name_the_line() -> None:
    message = refusal("schema_version: 1\npolicy:\n\tname: x\n")
    assert message.startswith("policy.yaml:3:")
    assert "Replace the tab with spaces" in message
    assert refusal("a: [1, 2\nb: 3\n").startswith("policy.yaml:")


def test_not_utf8_names_the_line() -> None:
    with pytest.raises(PolicyError, match=r"policy.yaml:2: the file is not UTF-8"):
        load_policy_bytes(b"schema_version: 1\nname: Caf\xe9\n")


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(PolicyError, match="the file is empty"):
        load_policy(tmp_path / "empty.yaml")


def test_lookup_by_dotted_key() -> None:
    policy = load_policy(adopted_policy_path())
    assert lookup(policy, "ce_allotment.target") == 20
    assert lookup(policy, "license_types.CE Access Only.counts_against_ce_allotment") is True
    with pytest.raises(KeyError, match=r"ce_allotment\.nope"):
        lookup(policy, "ce_allotment.nope")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_any_garbage_is_refused_with_policy_error_only(data: str | bytes) -> None:
    raw = data.encode() if isinstance(data, str) else data
    try:
        load_policy_bytes(raw, "fuzz.yaml")
    except PolicyError as exc:
        assert str(exc).startswith("fuzz.yaml")


@settings(max_examples=100, deadline=None)
@given(
    key=st.sampled_from(
        ["target", "minimum", "client_data_window", "method", "sole_license", "rounding"]
    ),
    value=st.one_of(
        st.integers(-5, 5).map(str),
        st.sampled_from(["yes", "no", "~", "null", "1.5", "[]", "{}", "'x'", "2025-01-01"]),
    ),
)
def test_any_value_either_loads_or_is_refused_naming_the_key(key: str, value: str) -> None:
    text = policy_text(**{key: value})
    try:
        load_policy_bytes(text.encode())
    except PolicyError as exc:
        assert key in str(exc) or "policy.yaml:" in str(exc)
    else:
        assert yaml.safe_load(text) is not None


# ------------------------------------------------ the record of policies that passed


def _load_in_a_new_process(policy: Path, cache: Path) -> str:
    """Loads the policy in a fresh interpreter; prints which of the YAML parser and
    jsonschema it imported."""
    code = (
        "import sys; from policy import load_policy; load_policy(sys.argv[1]);"
        " print(' '.join(m for m in ('yaml', 'jsonschema') if m in sys.modules) or '-')"
    )
    env = {**os.environ, "HMIS_LICENSING_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(policy)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    return done.stdout.strip()


def test_a_policy_that_passed_is_not_read_again_by_the_next_process(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy_text(minimum="3"), encoding="utf-8")
    cache = tmp_path / "cache"
    assert _load_in_a_new_process(policy, cache) == "yaml jsonschema"  # read, checked, recorded
    assert len(list((cache / "policies-valid").iterdir())) == 1
    assert len(list((cache / "policies-read").iterdir())) == 1
    assert _load_in_a_new_process(policy, cache) == "-"  # recorded: neither is needed
    policy.write_text(policy_text(minimum="4"), encoding="utf-8")
    assert _load_in_a_new_process(policy, cache) == "yaml jsonschema"  # an edit: read afresh


def test_a_recorded_policy_is_the_policy_the_file_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMIS_LICENSING_CACHE", str(tmp_path))
    text = policy_text(minimum="3").encode()
    fresh = load_policy_bytes(text, "a.yaml")
    recorded = load_policy_bytes(text, "a.yaml")  # from the record
    assert recorded == fresh
    assert list(recorded.license_types) == list(fresh.license_types)  # the file's order
    assert list(recorded.raw) == list(fresh.raw) and recorded.sha256 == fresh.sha256
    [record] = (tmp_path / "policies-read").iterdir()
    for damage in (b"{not json", b"[1, 2]", b'{"policy": 1}', b"\xff" * 10):
        record.write_bytes(damage)
        assert load_policy_bytes(text, "a.yaml") == fresh  # read and checked afresh
    if hasattr(os, "mkfifo"):
        record.unlink()
        os.mkfifo(record)  # a FIFO where the record was: never waited on
        assert load_policy_bytes(text, "a.yaml") == fresh


def test_a_recorded_pass_never_lets_a_broken_policy_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMIS_LICENSING_CACHE", str(tmp_path))
    assert load_policy_bytes(policy_text(minimum="2").encode()).ce_allotment.minimum == 2
    assert load_policy_bytes(policy_text(minimum="2").encode()).ce_allotment.minimum == 2
    with pytest.raises(PolicyError, match=r"ce_allotment.minimum: -1 is less than the minimum"):
        load_policy_bytes(policy_text(minimum="-1").encode())
    # The text "2" and the number 2 are different documents.
    with pytest.raises(PolicyError, match=r"ce_allotment.minimum"):
        load_policy_bytes(policy_text(minimum='"2"').encode())


def test_the_record_only_saves_time_an_unusable_or_disabled_folder_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("HMIS_LICENSING_CACHE", str(blocked))
    assert load_policy_bytes(policy_text(minimum="2").encode()).ce_allotment.minimum == 2
    with pytest.raises(PolicyError):
        load_policy_bytes(policy_text(minimum="-1").encode())
    for off in ("", "off"):
        monkeypatch.setenv("HMIS_LICENSING_CACHE", off)
        assert load_policy_bytes(policy_text(minimum="5").encode()).ce_allotment.minimum == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_policy_check_json_of_a_bad_policy_has_every_documented_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from workbook.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        adopted_policy_path().read_text(encoding="utf-8").replace("minimum: 2", "minimum: -1")
    )
    assert main(["policy", "check", str(bad), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    keys = ["command", "outcome", "exit_code", "file", "name", "version", "effective_date"]
    assert set(report) >= {*keys, "sha256", "problems", "notes"}
    assert report["outcome"] == "bad policy" and report["sha256"] is None
    assert "ce_allotment.minimum" in report["problems"][0]
