"""Adopted policy versions, kept so that an auditor can say which policy was in force.

Every adopted version is a file `policy/adopted/<version>.yaml`, never edited after it is
adopted, and an entry in `policy/CHANGELOG.md` that records its effective date and its
SHA-256 (the fingerprint every Run Log row carries). This module answers:

* which adopted version was in force on a date (`adopted_version_on`);
* whether a policy file is an adopted version, or was changed without raising
  `policy.version` ("changed but still 1.0.0": `compare_with_adopted`);
* whether an adopted file was edited after adoption (`verify_adopted`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from engine.model import Policy, Problem, Where
from policy import load_policy
from policy.changes import ParameterChange, parameter_changes
from policy.errors import PolicyError
from policy.loader import parse_policy_yaml
from policy.versions import CURRENT_SCHEMA_VERSION, migrate

CHANGELOG_NAME = "CHANGELOG.md"
_HEADING = re.compile(r"^##\s+(?P<version>\S+)\s+\(effective\s+(?P<date>\d{4}-\d{2}-\d{2})\)")
_SHA = re.compile(r"SHA-256:\s*`?(?P<sha>[0-9a-fA-F]{64})`?")


def adopted_folder() -> Path:
    """policy/adopted/ as shipped with the package."""
    return Path(str(resources.files("policy").joinpath("adopted")))


def changelog_path() -> Path:
    return Path(str(resources.files("policy").joinpath(CHANGELOG_NAME)))


@dataclass(frozen=True, slots=True)
class AdoptedVersion:
    version: str
    effective_date: dt.date
    path: Path
    sha256: str


@dataclass(frozen=True, slots=True)
class ChangelogEntry:
    version: str
    effective_date: dt.date
    sha256: str | None
    line: int


def version_key(version: str) -> tuple[int, ...]:
    """1.10.0 after 1.9.0 (any suffix after - or + is ignored for ordering)."""
    main = re.split(r"[-+]", version, maxsplit=1)[0]
    return tuple(int(p) if p.isdigit() else 0 for p in main.split("."))


def adopted_versions(folder: Path | None = None) -> list[AdoptedVersion]:
    """Every adopted version kept, oldest first (PolicyError if one cannot be read)."""
    folder = folder or adopted_folder()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.yaml")):
        policy = load_policy(path)
        found.append(AdoptedVersion(policy.version, policy.effective_date, path, policy.sha256))
    return sorted(found, key=lambda a: (a.effective_date, version_key(a.version)))


def adopted_version_on(day: dt.date, folder: Path | None = None) -> AdoptedVersion | None:
    """The adopted version in force on `day`: the latest to take effect on or before it."""
    in_force = [a for a in adopted_versions(folder) if a.effective_date <= day]
    return in_force[-1] if in_force else None


def adopted_file_for(version: str, folder: Path | None = None) -> Path | None:
    path = (folder or adopted_folder()) / f"{version}.yaml"
    return path if path.is_file() else None


@dataclass(frozen=True, slots=True)
class AdoptionStatus:
    """How a policy file stands against the adopted versions.

    `state` is one of: `adopted` (the adopted file itself, byte for byte), `same values`
    (the adopted values, different comments or layout), `changed` (the values differ
    from the adopted file of the same version: the version must be raised), `not adopted`
    (no adopted file of this version).
    """

    state: str
    version: str
    adopted: AdoptedVersion | None  # the adopted file of the same version, if any
    latest: AdoptedVersion | None
    changes: tuple[ParameterChange, ...] = ()

    @property
    def must_raise_version(self) -> bool:
        return self.state == "changed"

    def sentences(self) -> list[str]:
        adopted = self.adopted
        if self.state == "adopted" and adopted is not None:
            recorded = changelog_entries(adopted.path.parent.parent / CHANGELOG_NAME).get(
                self.version
            )
            if recorded is not None and recorded.sha256 not in (None, adopted.sha256):
                return [  # the adopted file itself, edited since: not the adopted bytes
                    f"The file of adopted version {self.version} ({_shown(adopted.path)}),"
                    " but not as adopted: its SHA-256 differs from the one CHANGELOG.md"
                    f" records ({recorded.sha256[:12]})."
                ]
            return [f"Adopted version {self.version} ({_shown(adopted.path)}), byte for byte."]
        if self.state == "same values" and adopted is not None:
            return [
                f"The values of adopted version {self.version}, but the text differs"
                " (comments or layout), so its SHA-256 is not the adopted one"
                f" ({adopted.sha256[:12]}). Runs with it cannot be traced to the adopted"
                " file by the Run Log's fingerprint: use the adopted file itself."
            ]
        if self.state == "changed" and adopted is not None:
            listed = "; ".join(c.describe() for c in self.changes[:8])
            more = f"; and {len(self.changes) - 8} more" if len(self.changes) > 8 else ""
            return [
                f"Changed but still {self.version}: raise policy.version. It differs from"
                f" the adopted {self.version} ({_shown(adopted.path)}) in: {listed}{more}."
            ]
        latest = self.latest
        text = f"Version {self.version} is not adopted yet"
        if latest is None:
            return [text + " (no adopted versions are kept)."]
        text += f" (the latest adopted is {latest.version}, effective {latest.effective_date})"
        if version_key(self.version) <= version_key(latest.version):
            text += (
                f"; a new version must be higher than {latest.version}, or it will be"
                " confused with the versions already adopted"
            )
        return [
            text + f". To adopt it, copy it to policy/adopted/{self.version}.yaml and add it"
            " to policy/CHANGELOG.md with its SHA-256 (above); see the README's Changing the"
            " policy."
        ]


def _shown(path: Path) -> str:
    """policy/adopted/1.0.0.yaml, however the package is installed."""
    return f"{path.parent.parent.name}/{path.parent.name}/{path.name}"


def compare_with_adopted(policy: Policy, folder: Path | None = None) -> AdoptionStatus:
    """Is this policy an adopted version, or a changed one that still carries its number?"""
    versions = adopted_versions(folder)
    latest = versions[-1] if versions else None
    same = next((a for a in versions if a.version == policy.version), None)
    if same is None:
        return AdoptionStatus("not adopted", policy.version, None, latest)
    if same.sha256 == policy.sha256:
        return AdoptionStatus("adopted", policy.version, same, latest)
    changes = tuple(parameter_changes(load_policy(same.path).raw, policy.raw))
    state = "changed" if changes else "same values"
    return AdoptionStatus(state, policy.version, same, latest, changes)


def changelog_entries(path: Path | None = None) -> dict[str, ChangelogEntry]:
    """The versions CHANGELOG.md lists, with their effective date and SHA-256."""
    path = path or changelog_path()
    if not path.is_file():
        return {}
    entries: dict[str, ChangelogEntry] = {}
    current: ChangelogEntry | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        heading = _HEADING.match(line)
        if heading:
            current = ChangelogEntry(
                heading["version"], dt.date.fromisoformat(heading["date"]), None, number
            )
            entries[current.version] = current
            continue
        sha = _SHA.search(line)
        if sha and current is not None and current.sha256 is None:
            current = ChangelogEntry(
                current.version, current.effective_date, sha["sha"].lower(), current.line
            )
            entries[current.version] = current
    return entries


def verify_adopted(folder: Path | None = None, changelog: Path | None = None) -> list[str]:
    """What is wrong with the kept versions: an edited file, a missing entry, a misnamed file."""
    folder = folder or adopted_folder()
    changelog = changelog or changelog_path()
    entries = changelog_entries(changelog)
    problems = []
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    for path in files:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            problems.append(f"{path}: cannot be read as a policy: {exc.message}")
            continue
        if policy.version != path.stem:
            problems.append(
                f"{path}: holds policy.version {policy.version}; the file of an adopted"
                f" version is named after it ({policy.version}.yaml)."
            )
        entry = entries.get(path.stem)
        if entry is None:
            problems.append(
                f"{path}: version {path.stem} has no entry in {changelog.name} (add"
                f" `## {path.stem} (effective {policy.effective_date})` with `SHA-256: {sha}`)."
            )
            continue
        if entry.sha256 != sha:
            problems.append(
                f"{path}: edited after it was adopted: its SHA-256 is {sha}, but"
                f" {changelog.name}:{entry.line} records {entry.sha256}. An adopted version"
                " is never edited: undo the edit, and make the change as a new version."
            )
        if entry.effective_date != policy.effective_date:
            problems.append(
                f"{path}: effective_date {policy.effective_date} differs from"
                f" {changelog.name}:{entry.line} ({entry.effective_date})."
            )
    for version, entry in entries.items():
        if not (folder / f"{version}.yaml").is_file():
            problems.append(
                f"{changelog.name}:{entry.line}: version {version} is listed but"
                f" {folder.name}/{version}.yaml is not kept."
            )
    return problems


def same_version_warning(policy: Policy, folder: Path | None = None) -> Problem | None:
    """A Warning when the policy carries an adopted version's number but other values:
    its results would be labelled as that adopted version (`policy check` exits 1 for it;
    a recalc still runs, and says so where the committee reads it)."""
    try:
        status = compare_with_adopted(policy, folder)
    except PolicyError:
        return None
    if not status.must_raise_version:
        return None
    listed = "; ".join(c.describe() for c in status.changes[:4])
    more = f"; and {len(status.changes) - 4} more" if len(status.changes) > 4 else ""
    name = Path(policy.source).name if policy.source else "policy.yaml"
    return Problem(
        "Warning",
        Where(name, column="policy.version"),
        f"{name} says version {policy.version} but is not the adopted {policy.version}: it"
        f" differs in {listed}{more}. The result sheets and the Run Log are labelled"
        f" {policy.version} (SHA-256 {policy.sha256[:12]}) and follow the changed values.",
        "Raise policy.version in the policy file (hmis-licensing policy check lists what"
        " changed), or recalculate with the adopted file.",
    )


def in_force_warning(policy: Policy, as_of: dt.date, folder: Path | None = None) -> Problem | None:
    """A Warning naming the adopted version in force on `as_of`, when it is not this one.

    Only when the as-of date is before this policy's effective date: a back-dated run
    judges by rules that were not yet in force.
    """
    if as_of >= policy.effective_date:
        return None
    try:
        kept = adopted_versions(folder)
    except PolicyError:
        kept = []
    in_force = [a for a in kept if a.effective_date <= as_of]
    where = Where(Path(policy.source).name if policy.source else "policy.yaml")
    where = Where(where.sheet, column="policy.effective_date")
    if not in_force:
        earliest = (
            f": the earliest kept, {kept[0].version}, took effect on {kept[0].effective_date}"
            if kept
            else ""
        )
        return Problem(
            "Warning",
            where,
            f"No adopted policy version kept in policy/adopted/ was in force on {as_of}"
            f"{earliest}; version {policy.version}, used here, took effect on"
            f" {policy.effective_date}.",
            "Judge this date with the policy that was in force then (--policy FILE), or"
            " choose an as-of date on or after the effective date.",
        )
    then = in_force[-1]
    return Problem(
        "Warning",
        where,
        f"On {as_of} the adopted policy in force was version {then.version} (effective"
        f" {then.effective_date}, policy/adopted/{then.path.name}), not {policy.version},"
        f" which took effect on {policy.effective_date}.",
        f"To judge {as_of} by the rules then in force, recalculate with --policy {then.path}.",
    )


@dataclass(frozen=True, slots=True)
class CheckNotes:
    """What `policy check` adds about versions: sentences, and whether one must be fixed."""

    lines: tuple[str, ...]
    must_fix: bool


def check_notes(policy: Policy, data: bytes, folder: Path | None = None) -> CheckNotes:
    """Schema migration, adoption status and the kept versions' integrity, for `policy check`."""
    parsed, lines = parse_policy_yaml(data, policy.source)
    migrated = migrate(parsed, lines, policy.source)
    notes = [
        f"Written for schema_version {migrated.from_version}; read as schema"
        f" {CURRENT_SCHEMA_VERSION}: {note}. Update the file to the current layout."
        for note in migrated.notes
    ]
    status = compare_with_adopted(policy, folder)
    problems = verify_adopted(folder) if folder is None or folder.is_dir() else []
    notes += status.sentences()
    notes += [f"Adopted versions: {problem}" for problem in problems]
    return CheckNotes(tuple(notes), status.must_raise_version or bool(problems))
