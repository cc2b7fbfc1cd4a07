"""Adopted versions an auditor can follow, and schema versions an editor can upgrade from."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from policy import adopted_policy_path, load_policy, load_policy_bytes
from policy.adoption import (
    adopted_folder,
    adopted_version_on,
    adopted_versions,
    changelog_entries,
    changelog_path,
    compare_with_adopted,
    in_force_warning,
    verify_adopted,
)
from policy.errors import PolicyError
from policy.loader import parse_policy_yaml
from policy.schema import schema_messages
from policy.versions import CURRENT_SCHEMA_VERSION, MigratingPolicy, Migration, migrate
from tests.conftest import SAMPLE
from workbook.cli import main

ADOPTED_TEXT = adopted_policy_path().read_text(encoding="utf-8")
SHIPPED = load_policy(adopted_policy_path())
V = SHIPPED.version  # the adopted version the repository ships (1.0.0 today)
VERSION_LINE = f'version: "{V}"'
NEW = "9.0.0"  # higher than any version adopted
OLD = "0.0.1"  # lower than any


def variant(tmp_path: Path, name: str, *pairs: tuple[str, str]) -> Path:
    text = ADOPTED_TEXT
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_policy_is_the_latest_adopted_version_byte_for_byte() -> None:
    latest = adopted_versions()[-1]
    assert latest.path.read_bytes() == adopted_policy_path().read_bytes(), (
        f"policy.yaml (version {V}) is not the latest adopted file"
        f" (policy/adopted/{latest.version}.yaml). A new version of the policy is adopted by"
        f" copying policy.yaml to policy/adopted/{V}.yaml and adding it, with its SHA-256"
        f" ({SHIPPED.sha256}), to policy/CHANGELOG.md (README, Changing the policy)."
    )
    assert (latest.version, latest.effective_date) == (V, SHIPPED.effective_date)
    assert SHIPPED.sha256 == latest.sha256
    assert adopted_versions()[0].version == "1.0.0"  # the first adoption is kept forever


def test_the_changelog_records_every_adopted_file_and_its_fingerprint() -> None:
    assert verify_adopted() == []
    entries = changelog_entries()
    for adopted in adopted_versions():
        entry = entries[adopted.version]
        assert entry.sha256 == hashlib.sha256(adopted.path.read_bytes()).hexdigest()
        assert entry.effective_date == adopted.effective_date


def kept(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of policy/adopted/ and CHANGELOG.md to tamper with."""
    folder = tmp_path / "adopted"
    shutil.copytree(adopted_folder(), folder)
    changelog = tmp_path / "CHANGELOG.md"
    shutil.copyfile(changelog_path(), changelog)
    return folder, changelog


def test_an_edited_adopted_version_is_caught(tmp_path: Path) -> None:
    folder, changelog = kept(tmp_path)
    path = folder / "1.0.0.yaml"  # the first adopted version
    path.write_text(path.read_text().replace("target: 20", "target: 25"), encoding="utf-8")
    problems = verify_adopted(folder, changelog)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: edited after it was adopted: its SHA-256 is ")
    assert "CHANGELOG.md:" in problems[0] and "7b119d4f1944" in problems[0]
    assert "never edited" in problems[0]


def test_an_edited_adopted_file_is_never_called_the_adopted_bytes(tmp_path: Path) -> None:
    """Compared with itself it is "the adopted file", but not as adopted: policy check
    must not say "byte for byte" of a file whose SHA-256 the CHANGELOG does not record."""
    folder, _changelog = kept(tmp_path)
    path = folder / "1.0.0.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    status = compare_with_adopted(load_policy(path), folder)
    [sentence] = status.sentences()
    assert "byte for byte" not in sentence
    assert "not as adopted: its SHA-256 differs from the one CHANGELOG.md records" in sentence
    pristine = compare_with_adopted(load_policy(adopted_folder() / "1.0.0.yaml"))
    assert pristine.sentences()[0].endswith("byte for byte.")


def test_an_adopted_file_without_changelog_entry_or_misnamed_is_caught(tmp_path: Path) -> None:
    folder, changelog = kept(tmp_path)
    text = ADOPTED_TEXT.replace(VERSION_LINE, 'version: "8.0.0"')
    (folder / "8.1.0.yaml").write_text(text, encoding="utf-8")
    problems = verify_adopted(folder, changelog)
    assert any("holds policy.version 8.0.0" in p for p in problems)
    assert any("version 8.1.0 has no entry in CHANGELOG.md" in p for p in problems)
    (folder / "1.0.0.yaml").unlink()
    assert any(
        "version 1.0.0 is listed but adopted/1.0.0.yaml is not kept" in p
        for p in (verify_adopted(folder, changelog))
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_policy_check_names_the_adopted_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "check")
    assert code == 0
    assert f"Adopted version {V} (policy/adopted/{V}.yaml), byte for byte." in out


def test_a_change_that_keeps_the_version_is_refused_with_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = variant(tmp_path, "policy.yaml", ("target: 20", "target: 25"))
    code, out, _ = run(capsys, "policy", "check", str(edited))
    assert code == 1
    assert f"Changed but still {V}: raise policy.version." in out
    assert "ce_allotment.target: 20 → 25" in out


def test_a_recalc_with_a_changed_policy_that_keeps_the_version_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`policy check` refuses it; a `check`/`recalc` still runs with it, but a Warning on
    Problems says that sheets labelled with the adopted version follow other values."""
    edited = variant(tmp_path, "edited.yaml", ("target: 20", "target: 25"))
    code, _, err = run(capsys, "check", str(SAMPLE), "--policy", str(edited))
    assert code == 0
    assert (
        f"Warning: edited.yaml!policy.version: edited.yaml says version {V} but is not the"
        f" adopted {V}: it differs in ce_allotment.target: 20 → 25." in err
    )
    code, _, err = run(capsys, "check", str(SAMPLE))
    assert code == 0 and "policy.version" not in err


def test_a_raised_version_is_not_adopted_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raised = variant(
        tmp_path,
        "policy.yaml",
        ("target: 20", "target: 25"),
        (VERSION_LINE, f'version: "{NEW}"'),
    )
    code, out, _ = run(capsys, "policy", "check", str(raised))
    assert code == 0
    assert f"Version {NEW} is not adopted yet (the latest adopted is {V}" in out
    assert f"copy it to policy/adopted/{NEW}.yaml" in out
    lower = variant(tmp_path, "lower.yaml", (VERSION_LINE, f'version: "{OLD}"'))
    code, out, _ = run(capsys, "policy", "check", str(lower))
    assert f"a new version must be higher than {V}" in out


def test_comments_only_keep_the_values_but_not_the_fingerprint(tmp_path: Path) -> None:
    commented = variant(tmp_path, "policy.yaml", ("# Missouri", "# Edited. Missouri"))
    status = compare_with_adopted(load_policy(commented))
    assert status.state == "same values"
    assert not status.must_raise_version
    assert "SHA-256 is not the adopted one" in status.sentences()[0]


def kept_versions(tmp_path: Path) -> Path:
    """Two adopted versions: OLD from 2024-01-01, and the shipped one from 2025-01-01."""
    assert SHIPPED.effective_date == dt.date(2025, 1, 1)
    folder = tmp_path / "adopted"
    folder.mkdir()
    shutil.copyfile(adopted_policy_path(), folder / f"{V}.yaml")
    older = ADOPTED_TEXT.replace(VERSION_LINE, f'version: "{OLD}"').replace(
        "effective_date: 2025-01-01", "effective_date: 2024-01-01"
    )
    (folder / f"{OLD}.yaml").write_text(older, encoding="utf-8")
    return folder


def test_the_adopted_version_in_force_on_a_date(tmp_path: Path) -> None:
    folder = kept_versions(tmp_path)
    on = {
        day: adopted_version_on(dt.date.fromisoformat(day), folder)
        for day in ("2023-12-31", "2024-01-01", "2024-12-31", "2025-01-01", "2026-11-24")
    }
    assert on["2023-12-31"] is None
    assert {day: a.version for day, a in on.items() if a} == {
        "2024-01-01": OLD,
        "2024-12-31": OLD,
        "2025-01-01": V,
        "2026-11-24": V,
    }


def test_an_as_of_date_before_the_effective_date_names_the_version_then(tmp_path: Path) -> None:
    policy = SHIPPED
    folder = kept_versions(tmp_path)
    assert in_force_warning(policy, dt.date(2025, 1, 1), folder) is None
    warning = in_force_warning(policy, dt.date(2024, 6, 1), folder)
    assert warning is not None and warning.severity == "Warning"
    assert warning.problem == (
        f"On 2024-06-01 the adopted policy in force was version {OLD} (effective 2024-01-01,"
        f" policy/adopted/{OLD}.yaml), not {V}, which took effect on 2025-01-01."
    )
    assert str(folder / f"{OLD}.yaml") in warning.how_to_fix
    none_kept = in_force_warning(policy, dt.date(2023, 6, 1), folder)
    assert none_kept is not None
    assert none_kept.problem == (
        f"No adopted policy version kept in policy/adopted/ was in force on 2023-06-01: the"
        f" earliest kept, {OLD}, took effect on 2024-01-01; version {V}, used here, took effect"
        " on 2025-01-01."
    )


def test_check_warns_on_a_back_dated_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", str(SAMPLE), "--as-of", "2024-06-01")
    assert code == 0
    assert (
        "Warning: policy.yaml!policy.effective_date: No adopted policy version kept in"
        " policy/adopted/ was in force on 2024-06-01: the earliest kept, 1.0.0, took effect on"
        f" 2025-01-01; version {V}, used here, took effect on 2025-01-01." in err
    )


# ----------------------------------------------------------------------- schema versions


def test_schema_version_newer_missing_or_not_a_number_is_refused() -> None:
    for text, expected in (
        ("schema_version: 2\n", "schema_version: 2 is newer than this hmis-licensing reads"),
        ("policy: {}\n", "schema_version: missing (required)"),
        ('schema_version: "1"\n', "schema_version: '1' is not a schema number"),
        ("schema_version: 0\n", "schema_version: 0 is older than this hmis-licensing reads"),
    ):
        with pytest.raises(PolicyError, match=re.escape(expected)):
            load_policy_bytes(text.encode(), "policy.yaml")


def rename_goal(work: MigratingPolicy) -> None:
    work.rename("ce_allotment.goal", "ce_allotment.target")
    work.set_default("ce_allotment.method", "formula")


SCHEMA_0 = {0: Migration(0, "ce_allotment.goal was renamed target", rename_goal)}


def schema_0_text() -> str:
    """The adopted policy as a (made-up) schema 0 would have written it."""
    return (
        ADOPTED_TEXT.replace("schema_version: 1", "schema_version: 0")
        .replace("  target: 20", "  goal: 20")
        .replace("  method: formula\n", "")
    )


def test_an_older_schema_is_migrated_step_by_step_and_then_validates() -> None:
    text = schema_0_text()
    data, lines = parse_policy_yaml(text.encode(), "old.yaml")
    migrated = migrate(data, lines, "old.yaml", migrations=SCHEMA_0)
    assert migrated.from_version == 0
    assert migrated.data["schema_version"] == CURRENT_SCHEMA_VERSION
    assert migrated.data["ce_allotment"]["target"] == 20
    assert migrated.data["ce_allotment"]["method"] == "formula"
    assert "goal" not in migrated.data["ce_allotment"]
    assert migrated.notes == (
        "schema 0 -> 1: ce_allotment.goal was renamed target (ce_allotment.goal is now"
        " ce_allotment.target; ce_allotment.method added with 'formula')",
    )
    assert schema_messages(migrated.data, migrated.lines, "old.yaml") == []
    assert data["ce_allotment"]["goal"] == 20  # the file's own data is left as read


def test_an_error_in_a_migrated_file_names_the_line_the_editor_wrote() -> None:
    text = schema_0_text().replace("  goal: 20", "  goal: -3")
    goal_line = text.split("\n").index("  goal: -3") + 1
    data, lines = parse_policy_yaml(text.encode(), "old.yaml")
    migrated = migrate(data, lines, "old.yaml", migrations=SCHEMA_0)
    messages = schema_messages(migrated.data, migrated.lines, "old.yaml")
    assert messages == [
        f"old.yaml:{goal_line} ce_allotment.target: -3 is less than the minimum of 1;"
        " write a number of 1 or more"
    ]


def test_a_missing_migration_step_is_refused() -> None:
    data, lines = parse_policy_yaml(b"schema_version: 0\n", "old.yaml")
    with pytest.raises(
        PolicyError, match=r"older than this hmis-licensing reads \(schema 1 to 2\)"
    ):
        migrate(data, lines, "old.yaml", migrations={1: SCHEMA_0[0]}, current=2)


def test_a_current_file_is_not_migrated() -> None:
    data, lines = parse_policy_yaml(ADOPTED_TEXT.encode(), "policy.yaml")
    migrated = migrate(data, lines, "policy.yaml", migrations=SCHEMA_0)
    assert migrated.notes == () and migrated.data == data and migrated.from_version == 1
