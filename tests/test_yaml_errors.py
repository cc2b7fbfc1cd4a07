"""YAML mistakes in policy.yaml are named on the line where they are, in plain words."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy import adopted_policy_path, load_policy_bytes
from policy.errors import PolicyError

ADOPTED = adopted_policy_path().read_text(encoding="utf-8").split("\n")


def line_of(text: str) -> int:
    """The 1-based number of the adopted policy's line that starts with `text` (stripped)."""
    matches = [i for i, line in enumerate(ADOPTED, start=1) if line.strip().startswith(text)]
    assert len(matches) == 1, text
    return matches[0]


def edited(number: int, change) -> str:
    lines = list(ADOPTED)
    lines[number - 1] = change(lines[number - 1])
    return "\n".join(lines)


def refusal(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy_bytes(text.encode("utf-8"), "policy.yaml")
    return str(caught.value)


def caret_column(message: str, number: int) -> int:
    """Where the caret under the shown line `number` points, in that line's own columns."""
    shown = message.split("\n")
    at = next(i for i, s in enumerate(shown) if re.match(rf"^\s+{number} \| ", s))
    prefix = len(re.match(r"^(\s+\d+ \| )", shown[at])[1])  # type: ignore[index]
    caret = shown[at + 1]
    assert caret.rstrip().endswith("^"), message
    return len(caret.rstrip()) - 1 - prefix


def test_over_indented_key_names_its_line_and_the_key_above() -> None:
    number = line_of("minimum: 2")
    message = refusal(edited(number, lambda s: "  " + s))
    first = message.split("\n")[0]
    assert first == (
        f"policy.yaml:{number}: `minimum` is indented more than the keys above it"
        f" (`target` on line {line_of('target: 20')} has 2 spaces)."
    )
    assert f"  {number} |     minimum: 2" in message
    assert caret_column(message, number) == 4
    assert "Indent `minimum` by 2 spaces, like `target`" in message
    assert "block end" not in message and "block mapping" not in message


def test_over_indented_first_key_of_a_section_is_blamed_not_the_next_one() -> None:
    number = line_of("target: 20")
    message = refusal(edited(number, lambda s: "  " + s))
    assert message.startswith(
        f"policy.yaml:{number}: `target` is indented more than the other keys of"
        " `ce_allotment` (4 spaces; `minimum` on line"
    )
    assert "Indent `target` by 2 spaces, like `minimum`" in message


def test_under_indented_key_between_two_levels() -> None:
    number = line_of("minimum: 2")
    message = refusal(edited(number, lambda s: s[1:]))
    assert message.startswith(f"policy.yaml:{number}: `minimum` is indented less than")
    assert caret_column(message, number) == 1


def test_under_indented_key_to_the_left_edge() -> None:
    number = line_of("minimum: 2")
    message = refusal(edited(number, lambda s: s.lstrip()))
    assert message.split("\n")[0] == (
        f"policy.yaml:{number}: `minimum` is indented less than the keys around it (`target`"
        f" on line {line_of('target: 20')} and `rounding` on line {line_of('rounding:')}"
        " have 2 spaces)."
    )


def test_key_indented_to_another_valid_level_says_where_it_belongs() -> None:
    """YAML reads these fine, so the schema says it: too far, or too little."""
    number = line_of("inactivity:")
    message = refusal(edited(number, lambda s: "  " + s))
    assert (
        f"policy.yaml:{number} policy.inactivity: `inactivity` belongs at the top level, not"
        " inside `policy`: it is indented too far." in message
    )
    number = line_of("special_request_reasons:")
    message = refusal(edited(number, lambda s: "  " + s))
    assert (
        f"policy.yaml:{number} inactivity.exceptions.special_request_reasons:"
        " `special_request_reasons` belongs inside `inactivity`, not inside"
        " `inactivity.exceptions`: it is indented too far." in message
    )
    text = "\n".join(ADOPTED).replace("\n  special_request_reasons:", "\nspecial_request_reasons:")
    message = refusal(text)
    assert "`special_request_reasons` belongs inside `inactivity`, not at the top level: it is" in (
        message
    )
    assert "indented too little" in message


def test_section_name_indented_into_the_section_above() -> None:
    number = line_of("Housing Project:")
    message = refusal(edited(number, lambda s: "  " + s))
    assert message.startswith(
        f"policy.yaml:{number}: `Housing Project` is indented more than the keys above it,"
        " so it is read as a key of `CE Access Only` with no value"
    )


def test_tab_is_named_at_the_tab() -> None:
    number = line_of("target: 20")
    message = refusal(edited(number, lambda s: "\t" + s.lstrip()))
    assert message.startswith(f"policy.yaml:{number}: ")
    assert "tab" in message.split("\n")[0]
    assert "Replace the tab with spaces" in message
    message = refusal(edited(number, lambda s: s.replace(": ", ":\t")))
    assert message.startswith(f"policy.yaml:{number}: This line has a tab character")
    assert caret_column(message, number) == len("  target:")


def test_missing_colon() -> None:
    number = line_of("minimum: 2")
    message = refusal(edited(number, lambda s: s.replace(": ", " ")))
    assert message.startswith(f"policy.yaml:{number}: `minimum 2` has no colon after its key.")
    assert "Write `minimum: 2`" in message
    number = line_of("exceptions:")
    message = refusal(edited(number, lambda s: s.replace(":", "")))
    assert message.startswith(f"policy.yaml:{number}: `exceptions` has no colon after it")
    assert "Write `exceptions:` with a colon at the end." in message


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("30 days", "'30 days' is a period written as text; write `{days: 30}`"),
        ("six months", "'six months' is a period written as text; write `{months: 6}`"),
        ("30", "30 is not a period; write one of months, weeks or days with a whole number,"),
    ],
)
def test_a_period_written_as_a_plain_value_is_shown_in_its_form(written: str, said: str) -> None:
    """Not "a colon is missing; write `30: days`" (which would be wrong too)."""
    number = line_of("first_sign_in_window:")
    message = refusal(
        edited(number, lambda s: s.replace("{days: 30}", written)).replace("{days: 30}", written)
    )
    assert f"policy.yaml:{number} inactivity.first_sign_in_window: {said}" in message
    assert "colon is missing" not in message and "not of type" not in message


def test_missing_space_after_colon() -> None:
    number = line_of("minimum: 2")
    message = refusal(edited(number, lambda s: s.replace(": ", ":")))
    assert message.startswith(f"policy.yaml:{number}: `minimum:2` has no space after its colon")
    assert "`minimum: 2`" in message


def test_unclosed_bracket_and_quote_name_where_they_open() -> None:
    number = line_of("client_data_window:")
    message = refusal(edited(number, lambda s: s.replace("}", "")))
    assert message.startswith(f"policy.yaml:{number}: The {{ opened here is never closed with }}.")
    assert caret_column(message, number) == ADOPTED[number - 1].index("{")
    number = line_of("special_request_reasons:")
    message = refusal(edited(number, lambda s: s.replace("]", "")))
    assert message.startswith(f"policy.yaml:{number}: The [ opened here is never closed with ].")
    number = line_of("version:")
    message = refusal(edited(number, lambda s: s.rstrip('"')))
    assert message.startswith(
        f'policy.yaml:{number}: The quote " that starts this value is never closed.'
    )
    assert caret_column(message, number) == ADOPTED[number - 1].index('"')


def test_a_policy_sheet_is_named_as_its_source() -> None:
    text = "schema_version: 1\npolicy:\n  name: x\n    version: y\n"
    with pytest.raises(PolicyError) as caught:
        load_policy_bytes(text.encode(), "Policy sheet")
    assert str(caught.value).startswith("Policy sheet:4: `version` is indented more")


KEY_LINES = [
    n
    for n, line in enumerate(ADOPTED, start=1)
    if line.strip() and not line.lstrip().startswith("#") and ":" in line
]
SHIFTS = {
    "one more space": lambda s: " " + s,
    "two more spaces": lambda s: "  " + s,
    "three more spaces": lambda s: "   " + s,
    "one space less": lambda s: s[1:] if s.startswith(" ") else s,
    "two spaces less": lambda s: s[2:] if s.startswith("  ") else s,
    "a tab": lambda s: "\t" + s.lstrip(),
    "no colon": lambda s: s.replace(": ", " ", 1) if ": " in s else s.replace(":", "", 1),
}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(KEY_LINES), st.sampled_from(sorted(SHIFTS)))
def test_any_slip_on_any_line_is_reported_on_that_line(number: int, shift: str) -> None:
    """Every indentation or colon slip on a key line names that line, or still loads."""
    text = edited(number, SHIFTS[shift])
    try:
        load_policy_bytes(text.encode("utf-8"), "policy.yaml")
    except PolicyError as exc:
        message = str(exc)
        assert f"policy.yaml:{number}" in message, message
        assert "<block" not in message and "expected ','" not in message, message
        if "does not follow the policy schema" not in message:
            assert message.startswith(f"policy.yaml:{number}: "), message
            assert "^" in message, message
