"""§1 HMIS License Inactivity Policy: which licenses are eligible for revocation.

The base rules (§1.1 no client data, §1.2 never signed in) find a license inactive; the
exceptions (§1.E2 Level 4 List Holder, §1.E3 special request, then §1.E1 an organization
keeps one license) can exempt it. §1.E1 is decided last because it asks whether *every*
active license of the organization would otherwise be eligible.

Every license row gets a decision: licenses that are not active on the as-of date, and
types the policy does not judge (`inactivity_policy_applies: false`), are `Not judged`;
rows the rules cannot be applied to (a cell that could not be read, a duplicate License
ID, a type the policy does not know) are `Cannot judge`, and never count as a license
that stays, so §1.E1 still keeps one of the organization's other licenses.

Dates that cannot be evidence on the as-of date are set aside and said: anything after
the as-of date (a back-dated run sees the workbook as it stood then), and anything before
the license was granted (it belongs to the license's previous holder).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.dates import Period
from engine.model import (
    NOT_JUDGED_FINDINGS,
    AppealRow,
    InactivityRules,
    LicenseDecision,
    LicenseRow,
    Policy,
    UnreadableRow,
    name_key,
)

_CHUNKS = re.compile(r"(\d+)")

NOT_ELIGIBLE = (
    "Not eligible for revocation under the CoC's licensing policy (the HMIS Lead Agency's"
    " own Inactivity Policy still applies: §1 footnote)."
)
ELIGIBLE = "Eligible for revocation."


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """Order IDs as people do: L-2 before L-10."""
    return tuple(
        (0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk.casefold())
        for chunk in _CHUNKS.split(text)
        if chunk
    )


@dataclass(frozen=True, slots=True)
class Exemption:
    label: str  # for the Exception column
    clause: str
    reason: str  # a sentence for the Explanation
    appeal_id: str = ""  # §1.E3: the special request that exempts


@dataclass(slots=True)
class Judgement:
    """§1 for one license on one date, before it becomes a LicenseDecision."""

    license: LicenseRow
    finding: str
    clause: str
    sentences: list[str]
    exemptions: list[Exemption] = field(default_factory=list)
    entry: dt.date | None = None  # the client-data date that counts on the as-of date
    signed_in: dt.date | None = None  # the earliest sign-in evidence that counts
    last_sign_in: dt.date | None = None  # the most recent (First Sign-In or Last Login)
    license_is_active: bool = True  # False: revoked, or not yet granted, on the date

    @property
    def judged(self) -> bool:
        return self.finding not in NOT_JUDGED_FINDINGS

    @property
    def would_be_eligible(self) -> bool:
        """Judged, not Active, and no exemption (asked often: one set lookup)."""
        return not self.exemptions and self.finding not in _NEVER_ELIGIBLE

    @property
    def stays(self) -> bool:
        """Active on the date and not eligible: a license the organization keeps."""
        finding = self.finding
        if finding == "Cannot judge":
            return False
        if finding == "Not judged":
            return self.license_is_active
        return finding == "Active" or bool(self.exemptions)


_NEVER_ELIGIBLE = NOT_JUDGED_FINDINGS | {"Active"}


# ------------------------------------------------------------------------------ evidence


@dataclass(frozen=True, slots=True)
class Evidence:
    """The dates of a license row that count on the as-of date, and what was set aside."""

    entry: dt.date | None
    first_sign_in: dt.date | None
    login: dt.date | None
    set_aside: tuple[str, ...]


_DATE_COLUMNS = (
    ("last_client_data_entry", "Last Client Data Entry"),
    ("first_sign_in", "First Sign-In"),
    ("last_login", "Last Login"),
)


def evidence(lic: LicenseRow, as_of: dt.date) -> Evidence:
    """SPEC §2 Dates: only dates from the grant to the as-of date count."""
    kept: dict[str, dt.date | None] = {}
    notes = []
    for name, header in _DATE_COLUMNS:
        day: dt.date | None = getattr(lic, name)
        if day is not None and day > as_of:
            notes.append(
                f"{header} {day} is after the as-of date {as_of}, so it does not count on"
                " that date."
            )
            day = None
        elif day is not None and day < lic.granted_on:
            notes.append(
                f"{header} {day} is before the license was granted on {lic.granted_on}"
                " (a reassigned license): it belongs to the previous holder and does not"
                " count."
            )
            day = None
        kept[name] = day
    return Evidence(
        kept["last_client_data_entry"], kept["first_sign_in"], kept["last_login"], tuple(notes)
    )


def counted_dates(
    lic: LicenseRow, as_of: dt.date
) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
    """(Last Client Data Entry, First Sign-In, Last Login) as `evidence` keeps them on the
    as-of date, without the sentences that say why one is set aside."""
    granted = lic.granted_on
    entry, first_sign_in, login = lic.last_client_data_entry, lic.first_sign_in, lic.last_login
    return (  # written out: asked twice for every license, and again by the watch list
        entry if entry is not None and granted <= entry <= as_of else None,
        first_sign_in if first_sign_in is not None and granted <= first_sign_in <= as_of else None,
        login if login is not None and granted <= login <= as_of else None,
    )


# ----------------------------------------------------------------------- §1.1 and §1.2


class _DateTexts(dict[dt.date, str]):
    """str(day) by day, each written once: the Explanations name the same few hundred
    dates over and over, and formatting a date costs several dict lookups."""

    def __missing__(self, day: dt.date) -> str:
        text = self[day] = str(day)
        return text


@dataclass(slots=True)  # not frozen: made for most judge_all calls, a frozen one costs more
class Windows:
    """The §1 windows on one as-of date: worked out once for every license judged on it."""

    client_data_start: dt.date  # client data before this day is outside the §1.1 window
    client_data_words: str  # "six months"
    sign_in: Period
    sign_in_words: str  # "30 days"
    due_by_grant: dict[dt.date, dt.date]  # Granted On -> the last day to sign in (§1.2)
    # The as-of date and the window's start as the Explanation writes them (str(date)),
    # written once: nearly every sentence names them; `text` writes the others.
    as_of_text: str
    client_data_start_text: str
    text: _DateTexts

    @classmethod
    def on(cls, policy: Policy, as_of: dt.date) -> Windows:
        rules = policy.inactivity
        start = rules.client_data_window.before(as_of)
        return cls(
            start,
            rules.client_data_window.describe(),
            rules.first_sign_in_window,
            rules.first_sign_in_window.describe(),
            {},
            str(as_of),
            str(start),
            _DateTexts(),
        )

    def sign_in_due(self, granted: dt.date) -> dt.date:
        due = self.due_by_grant.get(granted)
        if due is None:
            due = self.due_by_grant[granted] = self.sign_in.after(granted)
        return due


def base_finding(
    policy: Policy,
    lic: LicenseRow,
    as_of: dt.date,
    *,
    explain: bool = True,
    windows: Windows | None = None,
) -> Judgement:
    """§1.1/§1.2 for one active license of a judged type, before exceptions.

    `explain=False` decides the same finding without its sentences: the watch list asks
    "eligible on this day?" of many days and only words the day it finds. `windows`: the
    windows on `as_of`, when the caller judges many licenses on it."""
    rules = policy.inactivity
    windows = windows or Windows.on(policy, as_of)
    window_start = windows.client_data_start
    counted = counted_dates(lic, as_of)
    entry, first_sign_in, login = counted
    sign_in = _sign_in(windows, lic, as_of, first_sign_in, login, entry, explain, rules)
    if first_sign_in is None or login is None:
        latest = first_sign_in or login
    else:
        latest = max(first_sign_in, login)

    if entry < window_start if entry is not None else lic.granted_on < window_start:
        finding, clause = "Inactive", "§1.1"
    elif sign_in.overdue or (sign_in.late and rules.late_first_sign_in_revocable):
        finding, clause = "Not signed in", "§1.2"
    else:
        finding, clause = "Active", "§1.1"
    sentences = _base_sentences(windows, lic, as_of, finding, sign_in, counted) if explain else []
    return Judgement(
        lic, finding, clause, sentences, entry=entry, signed_in=sign_in.on, last_sign_in=latest
    )


def _base_sentences(
    windows: Windows,
    lic: LicenseRow,
    as_of: dt.date,
    finding: str,
    sign_in: _SignIn,
    counted: tuple[dt.date | None, dt.date | None, dt.date | None],
) -> list[str]:
    """The Explanation of a base finding: the dates set aside, then why. `counted`: the
    dates that count (`counted_dates`)."""
    window, window_start = windows.client_data_words, windows.client_data_start_text
    as_of_text, written = windows.as_of_text, windows.text
    entry, _, login = counted
    if counted == (lic.last_client_data_entry, lic.first_sign_in, lic.last_login):
        sentences: list[str] = []
    else:  # a date does not count on the as-of date: say which, and why
        sentences = list(evidence(lic, as_of).set_aside)
    if finding == "Inactive":
        if entry is not None:
            text = (
                f"No client data since {written[entry]} (before {window_start}, {window} before"
                f" {as_of_text}). §1.1"
            )
        else:
            text = (
                f"No client data entered since the license was granted on"
                f" {written[lic.granted_on]} (before {window_start}, {window} before"
                f" {as_of_text}). §1.1"
            )
        sentences.append(text)
        if sign_in.overdue:
            sentences.append(f"It has also never been signed in ({sign_in.text}). §1.2")
        if login is not None and (entry is None or login > entry):
            sentences.append(
                f"The last login on {written[login]} does not count: logins and reports are"
                " not client data activity (§1.1)."
            )
        return sentences
    if finding == "Not signed in":
        sentences.append(sign_in.text + " §1.2")
        return sentences
    if entry is not None:
        text = (
            f"Client data entered on {written[entry]}, within {window} before {as_of_text}"
            f" (on or after {window_start}). §1.1"
        )
    else:
        text = (
            f"No client data yet, but the license was granted on {written[lic.granted_on]},"
            f" within {window} before {as_of_text} (on or after {window_start}). §1.1"
        )
    sentences.append(text)
    if sign_in.text:
        sentences.append(sign_in.text + " §1.2")
    return sentences


@dataclass(slots=True)  # not frozen: made for every license judged, a third the cost
class _SignIn:
    on: dt.date | None  # the earliest evidence of a sign-in that counts
    overdue: bool  # never signed in, and the window has ended
    late: bool  # First Sign-In recorded after the window ended
    text: str  # "" when not asked to explain


def _sign_in(
    windows: Windows,
    lic: LicenseRow,
    as_of: dt.date,
    first_sign_in: dt.date | None,
    login: dt.date | None,
    entry: dt.date | None,
    explain: bool,
    rules: InactivityRules,
) -> _SignIn:
    """§1.2: a login is a sign-in, and entering client data needs one (SPEC §2)."""
    due = windows.sign_in_due(lic.granted_on)
    words = windows.sign_in_words
    first = first_sign_in  # the earliest proof (written out: cheaper than min of a list)
    if login is not None and (first is None or login < first):
        first = login
    if entry is not None and (first is None or entry < first):
        first = entry
    if first is None:
        if as_of > due:
            return _SignIn(
                None,
                True,
                False,
                f"Granted on {lic.granted_on} and never signed in; the {words} to sign in"
                f" ended on {due}, before {as_of}."
                if explain
                else "",
            )
        return _SignIn(
            None,
            False,
            False,
            f"Not signed in yet; the {words} to sign in run to {due}." if explain else "",
        )
    if first_sign_in is not None and first_sign_in > due and first <= due:
        # A login or client data within the window shows an earlier sign-in than the
        # First Sign-In recorded (validate warns of the contradiction): not late.
        if not explain:
            return _SignIn(first, False, False, "")
        return _SignIn(first, False, False, _signed_in_earlier(first_sign_in, first, login, due))
    if first_sign_in is not None and first_sign_in > due:
        if not explain:
            return _SignIn(first, False, True, "")
        revocable = rules.late_first_sign_in_revocable
        consequence = (
            "a late first sign-in is revocable (inactivity.late_first_sign_in_revocable)"
            if revocable
            else "it is signed in now, so it is not revocable for that"
            " (inactivity.late_first_sign_in_revocable: false)"
        )
        return _SignIn(
            first,
            False,
            True,
            f"First signed in on {first_sign_in}, after the {words} to sign in ended on"
            f" {due}; {consequence}.",
        )
    if first_sign_in is None and explain:
        shown = "a login" if login == first else "client data entered"
        text = f"First Sign-In is blank, but {shown} on {first} shows the license was signed into."
        return _SignIn(first, False, False, text)
    return _SignIn(first, False, False, "")


def _signed_in_earlier(
    first_sign_in: dt.date, first: dt.date, login: dt.date | None, due: dt.date
) -> str:
    shown = "a login" if login == first else "client data entered"
    return (
        f"First Sign-In {first_sign_in} is after the last day to sign in ({due}), but"
        f" {shown} on {first} shows the license was signed into by then, so it was not"
        " signed in late."
    )


# ------------------------------------------------------------------------- the whole §1


def judge_all(
    policy: Policy,
    licenses: Sequence[LicenseRow],
    appeals: Sequence[AppealRow] | None,
    as_of: dt.date,
    cannot_judge: Mapping[int, Sequence[str]] | None = None,
    doubts: Mapping[int, Sequence[str]] | None = None,
    *,
    explain: bool = True,
    windows: Windows | None = None,
) -> list[Judgement]:
    """§1 for every license row, in sheet order.

    `cannot_judge` maps a row number to why the rules cannot be applied to it at all (a
    duplicate License ID, an unknown type); `doubts` to why an exemption cannot be ruled
    out (an Appeals row that could not be read). Those rows get Finding `Cannot judge`,
    the second only when the license would otherwise be eligible. `explain=False`: the
    same findings and exemptions, without the sentences of base findings (`base_finding`)
    and Not judged rows.
    `windows`: the §1 windows on `as_of` (`Windows.on`), for a caller that judges on the
    same day again and again (the watch list).
    """
    rules = policy.inactivity
    requests = special_requests(policy, appeals, as_of) if appeals else _NO_REQUESTS
    windows = windows or Windows.on(policy, as_of)
    judgements = [_judge_one(policy, lic, as_of, requests, explain, windows) for lic in licenses]
    if cannot_judge or doubts:  # not in the usual workbook: no lookups per row without them
        blocked, doubtful = cannot_judge or {}, doubts or {}
        judgements = [_unless_cannot_judge(j, blocked, doubtful) for j in judgements]
    if rules.exceptions.sole_license:
        keep_one_per_organization(judgements)
    return judgements


def _unless_cannot_judge(
    judgement: Judgement,
    blocked: Mapping[int, Sequence[str]],
    doubtful: Mapping[int, Sequence[str]],
) -> Judgement:
    """`Cannot judge` for a row `judge_all` was told the rules cannot be applied to, or
    one whose exemption is in doubt and that would otherwise be eligible."""
    lic = judgement.license
    reasons = blocked.get(lic.row)
    if not reasons and judgement.would_be_eligible:
        reasons = doubtful.get(lic.row)
    if reasons and (judgement.judged or judgement.license_is_active):
        return Judgement(
            lic,
            "Cannot judge",
            "§1",
            [
                *reasons,
                "Fix what is named and recalculate: this license is not judged until then. §1",
            ],
        )
    return judgement


def judge_licenses(
    policy: Policy,
    licenses: Sequence[LicenseRow],
    appeals: Sequence[AppealRow] | None,
    as_of: dt.date,
) -> list[LicenseDecision]:
    """§1 for every license row, as Inactivity Report rows (without the review columns)."""
    return [decision(j, as_of) for j in judge_all(policy, licenses, appeals, as_of)]


def _judge_one(
    policy: Policy,
    lic: LicenseRow,
    as_of: dt.date,
    requests: SpecialRequests,
    explain: bool,
    windows: Windows,
) -> Judgement:
    not_judged = _not_judged(policy, lic, as_of, explain)
    if not_judged is not None:
        return not_judged
    judgement = base_finding(policy, lic, as_of, explain=explain, windows=windows)
    if judgement.finding == "Active":
        return judgement
    rules = policy.inactivity
    if rules.exceptions.level4_list_holder and lic.level4_list_holder:
        judgement.exemptions.append(
            Exemption(
                "Level 4 List Holder",
                "§1.E2",
                "Exempt: the user is a Level 4 List Holder for Coordinated Entry. §1.E2",
            )
        )
    if rules.exceptions.special_request and requests is not _NO_REQUESTS:  # else none to ask
        judgement.exemptions.extend(requests.exemptions_for(lic))
        if not judgement.exemptions and explain:
            judgement.sentences.extend(requests.lapsed_for(lic, as_of))
    return judgement


def _not_judged(
    policy: Policy, lic: LicenseRow, as_of: dt.date, explain: bool = True
) -> Judgement | None:
    """Not judged on the as-of date (not yet granted, revoked, a type §1 does not judge),
    else None. `explain=False`: without the sentence, as `base_finding`."""
    if lic.granted_on > as_of:
        return Judgement(
            lic,
            "Not judged",
            "§1",
            [
                f"Granted on {lic.granted_on}, after the as-of date {as_of}: not yet a license"
                " on that date."
            ]
            if explain
            else [],
            license_is_active=False,
        )
    if lic.revoked_on is not None and lic.revoked_on <= as_of:  # not active (granted by now)
        by = f" by the {lic.revoked_by}" if lic.revoked_by else ""
        why = f" ({lic.revocation_reason})" if lic.revocation_reason else ""
        return Judgement(
            lic,
            "Not judged",
            "§1",
            [
                f"Revoked on {lic.revoked_on}{by}{why}"
                + (
                    f" (before it was granted on {lic.granted_on}: see Problems)"
                    if lic.revoked_on is not None and lic.revoked_on < lic.granted_on
                    else ""
                )
                + f": not active on {as_of}."
            ]
            if explain
            else [],
            license_is_active=False,
        )
    rule = policy.license_type(lic.license_type)
    if rule is not None and not rule.inactivity_policy_applies:
        return Judgement(
            lic,
            "Not judged",
            "§1",
            [
                f"{rule.name} licenses are not judged by the CoC's inactivity policy"
                f" (license_types.{rule.name}.inactivity_policy_applies: false); a self-pay"
                " license is governed by the organization's agreement with ICA (Addendum 2)."
                if "self" in rule.name.casefold()
                else f"{rule.name} licenses are not judged by the CoC's inactivity policy"
                f" (license_types.{rule.name}.inactivity_policy_applies: false)."
            ]
            if explain
            else [],
        )
    return None


def keep_one_per_organization(judgements: Iterable[Judgement]) -> None:
    """§1.E1: when every active license of an organization would be eligible, keep one.

    Licenses that cannot be judged do not count as staying: an organization never loses
    its last license because one of its rows could not be read.
    """
    by_org: dict[str, list[Judgement]] = defaultdict(list)  # the active ones that go
    keeps: set[str] = set()  # organizations with an active license that stays
    for j in judgements:
        if j.finding == "Cannot judge" or not j.license_is_active:
            continue
        if j.stays:
            keeps.add(name_key(j.license.organization))
        else:
            by_org[name_key(j.license.organization)].append(j)
    for org_key, group in by_org.items():
        if org_key in keeps:
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
        kept.exemptions.append(Exemption("Sole license kept", "§1.E1", reason))
        for other in others:
            other.sentences.append(
                f"Not exempt under §1.E1: {org} keeps license {kept.license.license_id} instead."
            )


def _keep_order(j: Judgement) -> tuple[int, int, tuple[tuple[int, int, str], ...]]:
    last = j.entry.toordinal() if j.entry else 0
    signed = j.last_sign_in.toordinal() if j.last_sign_in else 0
    return (-last, -signed, natural_key(j.license.license_id))


def _why_kept(kept: Judgement, runner_up: Judgement) -> str:
    if kept.entry != runner_up.entry:
        if kept.entry is None:
            return "is kept"
        return f"has the most recent client data activity ({kept.entry})"
    if kept.last_sign_in != runner_up.last_sign_in and kept.last_sign_in is not None:
        return f"ties on client data activity and has the most recent sign-in ({kept.last_sign_in})"
    return "ties on client data activity and sign-in and has the lowest License ID"


def decision(
    j: Judgement,
    as_of: dt.date,
    *,
    cross_reference: str | None = None,
    eligible_since: dt.date | None = None,
    change_since_last_review: str = "",
) -> LicenseDecision:
    """The Inactivity Report row of one judgement; the review's columns and a closing
    sentence from another result (the reassignment agenda) when given."""
    lic = j.license
    finding = j.finding
    judged = j.judged
    eligible = j.would_be_eligible
    if j.exemptions:
        sentences = [*j.sentences, *(e.reason for e in j.exemptions)]
        exception = "; ".join(f"{e.label} ({e.clause})" for e in j.exemptions)
        clauses = "; ".join(dict.fromkeys([j.clause, *(e.clause for e in j.exemptions)]))
    else:
        sentences, exception, clauses = j.sentences, "", j.clause
    if judged and finding != "Active":
        sentences = [*sentences, ELIGIBLE if eligible else NOT_ELIGIBLE]
    entry = j.entry if judged else None
    explanation = " ".join(sentences)
    if cross_reference:
        explanation = f"{explanation} {cross_reference}"
    return LicenseDecision(
        license_id=lic.license_id,
        user=lic.user,
        organization=lic.organization,
        license_type=lic.license_type,
        granted_on=lic.granted_on,
        first_sign_in=lic.first_sign_in,
        last_client_data_entry=lic.last_client_data_entry,
        days_since_activity=(as_of - entry).days if entry is not None else None,
        finding=finding,  # type: ignore[arg-type]
        exception=exception,
        eligible=eligible,
        policy_clause=clauses,
        explanation=explanation,
        row=lic.row,
        eligible_since=eligible_since,
        change_since_last_review=change_since_last_review,
    )


def unreadable_decision(row: UnreadableRow) -> LicenseDecision:
    """A Licenses row with a cell that could not be read: listed, never judged (SPEC §3)."""

    def date(name: str) -> dt.date | None:
        value = row.values.get(name)
        return value if isinstance(value, dt.date) else None

    return LicenseDecision(
        license_id=row.text("license_id"),
        user=row.text("user"),
        organization=row.text("organization"),
        license_type=row.text("license_type"),
        granted_on=date("granted_on"),
        first_sign_in=date("first_sign_in"),
        last_client_data_entry=date("last_client_data_entry"),
        days_since_activity=None,
        finding="Cannot judge",
        exception="",
        eligible=False,
        policy_clause="§1",
        explanation="Cannot judge: "
        + "; ".join(r.rstrip(".") for r in row.reasons)
        + ". Fix the cell(s) named and recalculate: this license is not judged until then,"
        " and it does not count as a license its organization keeps (§1.E1). §1",
        row=row.row,
    )


def finding_for(policy: Policy, license_row: LicenseRow, as_of: dt.date) -> tuple[str, str]:
    """§1.1/§1.2 for one license on its own, before exceptions: (finding, explanation).

    The exceptions need the rest of the workbook (the organization's other licenses, the
    appeals), so a single license can only be given its base finding.
    """
    judgement = _not_judged(policy, license_row, as_of) or base_finding(policy, license_row, as_of)
    return judgement.finding, " ".join(judgement.sentences)


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

    def exemptions_for(self, lic: LicenseRow) -> list[Exemption]:
        """The first request in force: the license's own, else its organization's."""
        for appeal in self.by_license.get(name_key(lic.license_id), ()):
            return [_special_request_exemption(appeal, f"license {lic.license_id}")]
        for appeal in self.by_organization.get(name_key(lic.organization), ()):
            return [_special_request_exemption(appeal, f"every license of {lic.organization}")]
        return []


_NO_REQUESTS = SpecialRequests({}, {}, {}, {})


def _special_request_exemption(appeal: AppealRow, scope: str) -> Exemption:
    until = f"until {appeal.exception_until}" if appeal.exception_until else "with no end date"
    return Exemption(
        f"Special request {appeal.appeal_id}",
        "§1.E3",
        f"Exempt: special request {appeal.appeal_id}, approved on {appeal.decided_on}"
        f" {until}, keeps {scope}. §1.E3",
        appeal.appeal_id,
    )


def _not_in_force(appeal: AppealRow, as_of: dt.date) -> str:
    decision_ = name_key(appeal.decision)
    if decision_ == "pending":
        why = "is still pending; only an approved request exempts"
    elif decision_ == "denied":
        why = "was denied"
    elif appeal.decided_on is None:
        why = "has no Decided On date"
    elif appeal.decided_on > as_of:
        why = f"was decided on {appeal.decided_on}, after {as_of}"
    else:
        why = f"expired on {appeal.exception_until}"
    return f"{_request_label(appeal)} {why}, so it does not exempt it. §1.E3"


def _request_label(appeal: AppealRow) -> str:
    """How an appeal that §1.E3 honours is named: an appeal of an inactivity revocation is
    not called a special request (the Appeals Queue names its reason too)."""
    if name_key(appeal.reason) == "special request":
        return f"Special request {appeal.appeal_id}"
    return f"Appeal {appeal.appeal_id} ({appeal.reason})"


def special_request_reasons(policy: Policy) -> set[str]:
    """The reasons (and their aliases) that §1.E3 honours, as name keys."""
    wanted = {name_key(r) for r in policy.inactivity.special_request_reasons}
    aliases = {name_key(a) for a, r in policy.reason_aliases.items() if name_key(r) in wanted}
    return wanted | aliases


def special_request_in_force(policy: Policy, appeal: AppealRow, as_of: dt.date) -> bool:
    """§1.E3: approved, decided on or before the as-of date, not yet expired."""
    return _in_force(appeal, as_of, special_request_reasons(policy))


def _in_force(appeal: AppealRow, as_of: dt.date, reasons: set[str]) -> bool:
    """`special_request_in_force`, given the reasons §1.E3 honours (`special_request_reasons`)."""
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
    reasons = special_request_reasons(policy)
    in_force: tuple[dict[str, list[AppealRow]], dict[str, list[AppealRow]]] = ({}, {})
    others: tuple[dict[str, list[AppealRow]], dict[str, list[AppealRow]]] = ({}, {})
    for appeal in appeals:
        if name_key(appeal.reason) not in reasons or appeal.filed_on > as_of:
            continue
        by_license, by_org = in_force if _in_force(appeal, as_of, reasons) else others
        if appeal.license_id:
            by_license.setdefault(name_key(appeal.license_id), []).append(appeal)
        else:
            by_org.setdefault(name_key(appeal.organization), []).append(appeal)
    return SpecialRequests(*in_force, *others)
