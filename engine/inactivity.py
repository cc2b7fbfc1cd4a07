"""§1 HMIS License Inactivity Policy: which active licenses are eligible for revocation.

The base rules (§1.1 no client data, §1.2 never signed in) find a license inactive; the
exceptions (§1.E2 Level 4 List Holder, §1.E3 special request, then §1.E1 an organization
keeps one license) can exempt it. §1.E1 is decided last because it asks whether *every*
active license of the organization would otherwise be eligible.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.model import AppealRow, LicenseDecision, LicenseRow, Policy, name_key

_CHUNKS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """Order IDs as people do: L-2 before L-10."""
    return tuple(
        (0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk.casefold())
        for chunk in _CHUNKS.split(text)
        if chunk
    )


@dataclass(frozen=True, slots=True)
class _Exemption:
    label: str  # for the Exception column
    clause: str
    reason: str  # a sentence for the Explanation


@dataclass(slots=True)
class _Judgement:
    license: LicenseRow
    finding: str
    clause: str
    sentences: list[str]
    exemptions: list[_Exemption]

    @property
    def would_be_eligible(self) -> bool:
        return self.finding != "Active" and not self.exemptions


def judge_licenses(
    policy: Policy,
    licenses: Sequence[LicenseRow],
    appeals: Sequence[AppealRow] | None,
    as_of: dt.date,
) -> list[LicenseDecision]:
    """§1 for every active license, in sheet order."""
    rules = policy.inactivity
    window_start = rules.client_data_window.before(as_of)
    requests = special_requests(policy, appeals or (), as_of)
    judgements = []
    for lic in licenses:
        if not lic.is_active(as_of):
            continue
        judgement = _base_finding(policy, lic, as_of, window_start)
        if judgement.finding != "Active":
            if rules.exceptions.level4_list_holder and lic.level4_list_holder:
                judgement.exemptions.append(
                    _Exemption(
                        "Level 4 List Holder",
                        "§1.E2",
                        "Exempt: the user is a Level 4 List Holder for Coordinated Entry. §1.E2",
                    )
                )
            if rules.exceptions.special_request:
                judgement.exemptions.extend(requests.exemptions_for(lic))
                if not judgement.exemptions:
                    judgement.sentences.extend(requests.lapsed_for(lic, as_of))
        judgements.append(judgement)
    if rules.exceptions.sole_license:
        _keep_one_per_organization(judgements)
    return [_decision(j, as_of) for j in judgements]


def finding_for(policy: Policy, license_row: LicenseRow, as_of: dt.date) -> tuple[str, str]:
    """§1.1/§1.2 for one license on its own, before exceptions: (finding, explanation).

    The exceptions need the rest of the workbook (the organization's other licenses, the
    appeals), so a single license can only be given its base finding.
    """
    window_start = policy.inactivity.client_data_window.before(as_of)
    judgement = _base_finding(policy, license_row, as_of, window_start)
    return judgement.finding, " ".join(judgement.sentences)


def _base_finding(
    policy: Policy, lic: LicenseRow, as_of: dt.date, window_start: dt.date
) -> _Judgement:
    rules = policy.inactivity
    window = rules.client_data_window.describe()
    sign_in_window = rules.first_sign_in_window.describe()
    sign_in_due = rules.first_sign_in_window.after(lic.granted_on)
    last = lic.last_client_data_entry
    # Client data can only be entered after signing in, so an entry is proof of sign-in
    # even where First Sign-In was left blank.
    never_signed_in_late = lic.first_sign_in is None and last is None and as_of > sign_in_due

    if last is not None and last > as_of:
        return _Judgement(
            lic,
            "Active",
            "§1.1",
            [
                f"Client data entered on {last}, after the as-of date {as_of}, so not"
                f" inactive on {as_of}. §1.1"
            ],
            [],
        )
    inactive = (last < window_start) if last is not None else lic.granted_on < window_start
    if inactive:
        if last is not None:
            text = (
                f"No client data since {last} (before {window_start}, {window} before"
                f" {as_of}). §1.1"
            )
        else:
            text = (
                f"No client data entered since the license was granted on"
                f" {lic.granted_on} (before {window_start}, {window} before {as_of})."
                " §1.1"
            )
        sentences = [text]
        if never_signed_in_late:
            sentences.append(
                f"It has also never been signed in ({sign_in_window} to sign in ended"
                f" {sign_in_due}). §1.2"
            )
        if lic.last_login is not None and (last is None or lic.last_login > last):
            sentences.append(
                f"The last login on {lic.last_login} does not count: logins and reports"
                " are not client data activity."
            )
        return _Judgement(lic, "Inactive", "§1.1", sentences, [])
    if never_signed_in_late:
        return _Judgement(
            lic,
            "Not signed in",
            "§1.2",
            [
                f"Granted on {lic.granted_on} and never signed in; the {sign_in_window}"
                f" to sign in ended on {sign_in_due}, before {as_of}. §1.2"
            ],
            [],
        )
    if last is not None:
        text = (
            f"Client data entered on {last}, within {window} before {as_of} (on or after"
            f" {window_start}). §1.1"
        )
    else:
        text = (
            f"No client data yet, but the license was granted on {lic.granted_on},"
            f" within {window} before {as_of} (on or after {window_start}). §1.1"
        )
    sentences = [text]
    if lic.first_sign_in is None and last is None:
        sentences.append(
            f"Not signed in yet; the {sign_in_window} to sign in run to {sign_in_due}. §1.2"
        )
    elif lic.first_sign_in is None and as_of > sign_in_due:
        sentences.append(
            "First Sign-In is blank, but entering client data shows the license was signed"
            " into. §1.2"
        )
    return _Judgement(lic, "Active", "§1.1", sentences, [])


def _keep_one_per_organization(judgements: Iterable[_Judgement]) -> None:
    """§1.E1: when every active license of an organization would be eligible, keep one."""
    by_org: dict[str, list[_Judgement]] = defaultdict(list)
    for j in judgements:
        by_org[name_key(j.license.organization)].append(j)
    for group in by_org.values():
        if not all(j.would_be_eligible for j in group):
            continue
        ranked = sorted(group, key=_keep_order)
        kept, others = ranked[0], ranked[1:]
        org = kept.license.organization
        if not others:
            reason = (
                f"Exempt: it is the only active license of {org}, and an organization"
                " keeps at least one license. §1.E1"
            )
        else:
            every = "both" if len(group) == 2 else f"all {len(group)}"
            reason = (
                f"Exempt: {every} active licenses of {org} would be eligible,"
                f" and an organization keeps at least one license; this one"
                f" {_why_kept(kept, others[0])}. §1.E1"
            )
        kept.exemptions.append(_Exemption("Sole license kept", "§1.E1", reason))
        for other in others:
            other.sentences.append(
                f"Not exempt under §1.E1: {org} keeps license {kept.license.license_id} instead."
            )


def _keep_order(j: _Judgement) -> tuple[int, int, tuple[tuple[int, int, str], ...]]:
    lic = j.license
    last = lic.last_client_data_entry.toordinal() if lic.last_client_data_entry else 0
    signed = lic.first_sign_in.toordinal() if lic.first_sign_in else 0
    return (-last, -signed, natural_key(lic.license_id))


def _why_kept(kept: _Judgement, runner_up: _Judgement) -> str:
    a, b = kept.license, runner_up.license
    if a.last_client_data_entry != b.last_client_data_entry:
        if a.last_client_data_entry is None:
            return "is kept"
        return f"has the most recent client data activity ({a.last_client_data_entry})"
    if a.first_sign_in != b.first_sign_in and a.first_sign_in is not None:
        return f"ties on client data activity and has the most recent sign-in ({a.first_sign_in})"
    return "ties on client data activity and sign-in and has the lowest License ID"


def _decision(j: _Judgement, as_of: dt.date) -> LicenseDecision:
    lic = j.license
    sentences = list(j.sentences)
    sentences.extend(e.reason for e in j.exemptions)
    eligible = j.would_be_eligible
    if j.finding != "Active":
        sentences.append("Eligible for revocation." if eligible else "Not eligible for revocation.")
    clauses = [j.clause, *(e.clause for e in j.exemptions)]
    last = lic.last_client_data_entry
    return LicenseDecision(
        license_id=lic.license_id,
        user=lic.user,
        organization=lic.organization,
        license_type=lic.license_type,
        granted_on=lic.granted_on,
        first_sign_in=lic.first_sign_in,
        last_client_data_entry=last,
        days_since_activity=(as_of - last).days if last and last <= as_of else None,
        finding=j.finding,  # type: ignore[arg-type]
        exception="; ".join(f"{e.label} ({e.clause})" for e in j.exemptions),
        eligible=eligible,
        policy_clause="; ".join(dict.fromkeys(clauses)),
        explanation=" ".join(sentences),
        row=lic.row,
    )


# ------------------------------------------------------------------ §1.E3 special requests


@dataclass(frozen=True, slots=True)
class SpecialRequests:
    """Approved special requests in force on the as-of date, by license and organization."""

    by_license: dict[str, list[AppealRow]]
    by_organization: dict[str, list[AppealRow]]
    other_by_license: dict[str, list[AppealRow]]
    other_by_organization: dict[str, list[AppealRow]]

    def lapsed_for(self, lic: LicenseRow, as_of: dt.date) -> list[str]:
        """Why a special request on record does not exempt this license (yet, or any more)."""
        appeals = self.other_by_license.get(name_key(lic.license_id), []) + (
            self.other_by_organization.get(name_key(lic.organization), [])
        )
        return [_not_in_force(appeal, as_of) for appeal in appeals]

    def exemptions_for(self, lic: LicenseRow) -> list[_Exemption]:
        found = []
        for appeal in self.by_license.get(name_key(lic.license_id), []):
            found.append(_special_request_exemption(appeal, f"license {lic.license_id}"))
        for appeal in self.by_organization.get(name_key(lic.organization), []):
            found.append(_special_request_exemption(appeal, f"every license of {lic.organization}"))
        return found[:1] if found else []


def _special_request_exemption(appeal: AppealRow, scope: str) -> _Exemption:
    until = f"until {appeal.exception_until}" if appeal.exception_until else "with no end date"
    return _Exemption(
        f"Special request {appeal.appeal_id}",
        "§1.E3",
        f"Exempt: special request {appeal.appeal_id}, approved on {appeal.decided_on}"
        f" {until}, keeps {scope}. §1.E3",
    )


def _not_in_force(appeal: AppealRow, as_of: dt.date) -> str:
    decision = name_key(appeal.decision)
    if decision == "pending":
        why = "is still pending; only an approved request exempts"
    elif decision == "denied":
        why = "was denied"
    elif appeal.decided_on is None:
        why = "has no Decided On date"
    elif appeal.decided_on > as_of:
        why = f"was decided on {appeal.decided_on}, after {as_of}"
    else:
        why = f"expired on {appeal.exception_until}"
    return f"Special request {appeal.appeal_id} {why}, so it does not exempt it. §1.E3"


def special_request_in_force(policy: Policy, appeal: AppealRow, as_of: dt.date) -> bool:
    """§1.E3: approved, decided on or before the as-of date, not yet expired."""
    reasons = {name_key(r) for r in policy.inactivity.special_request_reasons}
    return (
        name_key(appeal.decision) == "approved"
        and name_key(appeal.reason) in reasons
        and appeal.decided_on is not None
        and appeal.decided_on <= as_of
        and (appeal.exception_until is None or appeal.exception_until >= as_of)
    )


def special_requests(
    policy: Policy, appeals: Iterable[AppealRow], as_of: dt.date
) -> SpecialRequests:
    reasons = {name_key(r) for r in policy.inactivity.special_request_reasons}
    in_force: tuple[dict[str, list[AppealRow]], dict[str, list[AppealRow]]] = ({}, {})
    others: tuple[dict[str, list[AppealRow]], dict[str, list[AppealRow]]] = ({}, {})
    for appeal in appeals:
        if name_key(appeal.reason) not in reasons:
            continue
        by_license, by_org = in_force if special_request_in_force(policy, appeal, as_of) else others
        if appeal.license_id:
            by_license.setdefault(name_key(appeal.license_id), []).append(appeal)
        else:
            by_org.setdefault(name_key(appeal.organization), []).append(appeal)
    return SpecialRequests(*in_force, *others)
