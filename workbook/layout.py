"""The shared workbook's layout, declared once: every sheet, column header and value kind.

The openpyxl path, the xlwings path, the sample builder and the tests all read these
declarations; nothing else spells a sheet or column name. Input sheets are matched by
name and headers without regard to case or surrounding spaces; result sheets are written
exactly as declared here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from engine.model import (
    APPEAL_REASONS,
    DECISIONS,
    REVOCATION_REASONS,
    REVOKED_BY,
    AppealRow,
    CountyRow,
    IntakeRow,
    LicenseRow,
    OrganizationRow,
    RegionRow,
    SelfPayRequestRow,
)
from engine.selfpay import LEAST_LICENSES, LEAST_YEARS


class Kind(Enum):
    """What a column holds; decides how a cell is read and how it is formatted."""

    TEXT = "text"
    ID = "ID"  # text or a whole number, kept as text
    DATE = "date"
    DATETIME = "date and time"
    INTEGER = "whole number"
    BALANCE = "whole number (negative shown in red)"
    NUMBER = "number"
    PERCENT = "percent"
    MONEY = "money"
    YESNO = "Yes or No"
    CHOICE = "choice"


NUMBER_FORMATS = {
    Kind.DATE: "yyyy-mm-dd",
    Kind.DATETIME: "yyyy-mm-dd hh:mm:ss",
    Kind.INTEGER: "#,##0",
    Kind.BALANCE: "#,##0;[Red]-#,##0",
    Kind.NUMBER: "0.00",
    Kind.PERCENT: "0.00%",
    Kind.MONEY: '"$"#,##0.00',
}


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    field: str
    kind: Kind = Kind.TEXT
    required: bool = False  # the column must be on the sheet, and its cells filled
    blank_allowed: bool = False  # a required column whose cells may still be blank
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    width: int = 14
    note: str = ""  # what to enter, for the instructions and drop-downs
    # Yes/No columns: a blank cell is "not recorded" (None) rather than No.
    blank_unknown: bool = False
    # Shown or passed on, never deciding a result: a misspelt header is only a Warning.
    informational: bool = False
    # Date columns: 9999-12-31 is accepted as "no end date" (only where nothing is ever
    # added to the date: another column's 9999 would overflow the calendar).
    open_ended: bool = False
    # Optional columns whose absence decides results: what follows from it, for the
    # Warning that says so (a workbook without the column still recalculates).
    absent_means: str = ""

    @property
    def needs_value(self) -> bool:
        return self.required and not self.blank_allowed

    def matches(self, header: str) -> bool:
        wanted = header_key(header)
        return wanted == header_key(self.header) or any(
            wanted == header_key(a) for a in self.aliases
        )


WRAP_WIDTH = 40  # columns at least this wide wrap their text
LINE_HEIGHT = 15.0  # points per line of 11-point text


def row_height(columns: tuple[Column, ...], values: tuple[object, ...]) -> float | None:
    """A row height that shows all of its wrapped text; None when one line is enough.

    Neither Excel nor LibreOffice re-measures rows of a file written by a program, so a
    long Explanation would otherwise be cut off or overlap the next row.
    """
    lines = 1
    for column, value in zip(columns, values, strict=False):
        if column.width >= WRAP_WIDTH and isinstance(value, str) and value:
            per_line = max(1, int(column.width * 1.15))
            words_lines = sum(-(-len(part) // per_line) or 1 for part in value.split("\n"))
            lines = max(lines, words_lines)
    return LINE_HEIGHT * lines if lines > 1 else None


def header_key(text: object) -> str:
    return " ".join(str(text).split()).casefold() if text is not None else ""


@dataclass(frozen=True, slots=True)
class InputSheet:
    name: str
    columns: tuple[Column, ...]
    row_type: type | None
    optional: bool = False
    purpose: str = ""
    # How a problem names a row, from its first column ("{name}" -> "License L-1002").
    row_label: str = ""

    def column(self, field: str) -> Column:
        return next(c for c in self.columns if c.field == field)


@dataclass(frozen=True, slots=True)
class ResultSheet:
    name: str
    columns: tuple[Column, ...]
    purpose: str = ""

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)


# ------------------------------------------------------------------------- input sheets

REGIONS = InputSheet(
    "Regions",
    (
        Column("Region", "region", required=True, width=14),
        Column(
            "Population",
            "population",
            Kind.INTEGER,
            required=True,
            blank_allowed=True,
            minimum=1,
            note="blank when the Counties sheet gives it",
        ),
        Column("CE Lead", "ce_lead", width=22, informational=True),
        Column("CE Lead Email", "ce_lead_email", width=28, informational=True),
    ),
    RegionRow,
    row_label="{name}",
    purpose="The Balance of State regions and their populations (§2).",
)

COUNTIES = InputSheet(
    "Counties",
    (
        Column("County", "county", required=True, width=22),
        Column("Region", "region", required=True),
        Column("Population", "population", Kind.INTEGER, required=True, minimum=1),
    ),
    CountyRow,
    optional=True,
    row_label="{name}",
    purpose="Counties and their region; when present they give each region's population.",
)

ORGANIZATIONS = InputSheet(
    "Organizations",
    (
        Column("Organization", "organization", required=True, width=40),
        Column("County", "county", width=22),
        Column(
            "Contact Email",
            "contact_email",
            width=30,
            note="where notices go (§8)",
            informational=True,
        ),
        Column(
            "Level 3 Access Point",
            "level3_access_point",
            Kind.YESNO,
            blank_unknown=True,
            note="§3: serves as a level 3 access point (blank: not recorded)",
        ),
        Column(
            "Data Entry Agreement",
            "data_entry_agreement",
            Kind.YESNO,
            blank_unknown=True,
            note="§3: takes part in data entry agreements (blank: not recorded)",
        ),
    ),
    OrganizationRow,
    row_label="{name}",
    purpose="Organizations that hold licenses, and the county each is in (§3).",
)

INTAKES = InputSheet(
    "Intakes",
    (
        Column("Organization", "organization", required=True, width=40),
        Column("Region", "region", required=True),
        Column("Average Intakes", "average_intakes", Kind.NUMBER, required=True, minimum=0),
    ),
    IntakeRow,
    optional=True,
    purpose="Average intakes per region for organizations that cover several regions (§3).",
)

LICENSES = InputSheet(
    "Licenses",
    (
        Column("License ID", "license_id", Kind.ID, required=True, width=12),
        Column("User", "user", required=True, width=22),
        Column("Organization", "organization", required=True, width=40),
        Column(
            "License Type",
            "license_type",
            required=True,
            width=18,
            note="a type named in policy.yaml",
        ),
        Column("Region", "region", note="blank unless a CE Lead or the CE Committee chose one"),
        Column("County", "county", width=20),
        Column("HMIS User ID", "hmis_user_id", Kind.ID, informational=True),
        Column("Granted On", "granted_on", Kind.DATE, required=True, width=13),
        Column(
            "First Sign-In",
            "first_sign_in",
            Kind.DATE,
            width=13,
            absent_means="a license counts as signed in only by a Last Login or client data"
            " on record, so licenses granted more than the §1.2 window ago with neither are"
            " found Not signed in.",
        ),
        Column(
            "Last Client Data Entry",
            "last_client_data_entry",
            Kind.DATE,
            width=13,
            absent_means="no license has client data on record, so every license granted"
            " before the §1.1 window starts is found Inactive and eligible for revocation.",
        ),
        Column("Client Entries (Window)", "client_entries_window", Kind.INTEGER, minimum=0),
        Column("Last Login", "last_login", Kind.DATE, width=13, note="informational only"),
        Column(
            "Level 4 List Holder",
            "level4_list_holder",
            Kind.YESNO,
            aliases=("Level 4 List Holder (Yes/No)", "Level 4"),
        ),
        Column("Revoked On", "revoked_on", Kind.DATE, width=13),
        Column("Revoked By", "revoked_by", Kind.CHOICE, choices=REVOKED_BY, width=14),
        Column(
            "Revocation Reason",
            "revocation_reason",
            Kind.CHOICE,
            choices=REVOCATION_REASONS,
            width=20,
        ),
    ),
    LicenseRow,
    row_label="License {name}",
    purpose="Every HMIS user license and its activity dates (§1, §3).",
)

APPEALS = InputSheet(
    "Appeals",
    (
        Column("Appeal ID", "appeal_id", Kind.ID, required=True, width=10),
        Column("Filed On", "filed_on", Kind.DATE, required=True, width=13),
        Column("Organization", "organization", required=True, width=40),
        Column("License ID", "license_id", Kind.ID, note="blank: the whole organization"),
        Column("Region", "region"),
        # Free text: the engine reads the policy's own wordings as reasons too (SPEC §4,
        # appeals.reason_aliases), and reports any it cannot route; `choices` feed drop-downs.
        Column("Reason", "reason", required=True, choices=APPEAL_REASONS, width=28),
        Column("Decision", "decision", Kind.CHOICE, required=True, choices=DECISIONS),
        Column("Decided On", "decided_on", Kind.DATE, width=13),
        Column(
            "Last Reviewed On",
            "last_reviewed_on",
            Kind.DATE,
            width=13,
            note="the committee meeting that last discussed it (§4)",
        ),
        Column("Exception Until", "exception_until", Kind.DATE, width=13, open_ended=True),
        Column("Licenses Requested", "licenses_requested", Kind.INTEGER, minimum=0),
        Column(
            "Granted From",
            "granted_from",
            width=24,
            note="Region allotment, Additional from HMIS, or Reassigned from <Region> (§4)",
        ),
        Column("Notes", "notes", width=40, informational=True),
    ),
    AppealRow,
    optional=True,
    row_label="Appeal {name}",
    purpose="Appeals and special requests, and the committees' decisions (§4, §1.E3).",
)

SETTINGS = InputSheet(
    "Settings",
    (
        Column("Setting", "setting", required=True, width=16),
        Column("Value", "value", required=True, blank_allowed=True, width=40),
    ),
    None,
    optional=True,
    purpose="As Of (blank = today), Policy File (blank = policy.yaml beside the workbook)"
    " and Next Review (blank = As Of + the policy's review period).",
)

SELF_PAY_REQUESTS = InputSheet(
    "Self-Pay Requests",
    (
        Column("Request ID", "request_id", Kind.ID, required=True),
        Column("Organization", "organization", required=True, width=40),
        Column(
            "Licenses Requested",
            "licenses_requested",
            Kind.INTEGER,
            required=True,
            minimum=LEAST_LICENSES,  # the engine's bounds: HMIS_SELF_PAY_COST uses them too
        ),
        Column("Years", "years", Kind.INTEGER, required=True, minimum=LEAST_YEARS),
    ),
    SelfPayRequestRow,
    optional=True,
    row_label="Self-pay request {name}",
    purpose="Organizations asking what self-pay licenses would cost (Addendum 2).",
)

INPUT_SHEETS: tuple[InputSheet, ...] = (
    REGIONS,
    COUNTIES,
    ORGANIZATIONS,
    INTAKES,
    LICENSES,
    APPEALS,
    SETTINGS,
    SELF_PAY_REQUESTS,
)

SETTING_AS_OF = "As Of"
SETTING_POLICY_FILE = "Policy File"
SETTING_NEXT_REVIEW = "Next Review"

# Optional: the policy.yaml text kept inside the workbook, one line per row in column A
# (how Excel on the web, which cannot read files, gets a policy; see workbook/policy_sheet.py).
POLICY_SHEET = "Policy"

# ------------------------------------------------------------------------ result sheets

_DECISION_COLUMNS = (
    Column("License ID", "license_id", Kind.ID, width=12),
    Column("User", "user", width=22),
    Column("Organization", "organization", width=36),
    Column("License Type", "license_type", width=16),
    Column("Granted On", "granted_on", Kind.DATE, width=12),
    Column("First Sign-In", "first_sign_in", Kind.DATE, width=12),
    Column("Last Client Data Entry", "last_client_data_entry", Kind.DATE, width=12),
    Column("Days Since Activity", "days_since_activity", Kind.INTEGER, width=10),
    Column("Finding", "finding", width=14),
    Column("Exception", "exception", width=26),
    Column("Eligible For Revocation", "eligible_for_revocation", width=11),
    Column("Eligible Since", "eligible_since", Kind.DATE, width=12),
    Column("Change Since Last Review", "change_since_last_review", width=20),
    Column("Policy Clause", "policy_clause", width=12),
    Column("Explanation", "explanation", width=90),
)

ALLOTMENTS = ResultSheet(
    "Allotments",
    (
        Column("Region", "region", width=14),
        Column("Population", "population", Kind.INTEGER, width=12),
        Column("Share", "share", Kind.PERCENT, width=9),
        Column("Formula Value", "formula_value", Kind.NUMBER, width=10),
        Column("Allotment", "allotment", Kind.INTEGER, width=10),
        Column("Minimum Applied", "minimum_applied_text", width=10),
        Column("Added By Appeal", "added_by_appeal", Kind.INTEGER, width=9),
        Column("In Use", "in_use", Kind.INTEGER, width=8),
        Column("Available", "available", Kind.BALANCE, width=10),
        Column("Policy Clause", "policy_clause", width=9),
        Column("Explanation", "explanation", width=100),
    ),
    purpose="§2 CE Access Only licenses allotted to each region, with the total and target.",
)

CE_CHARGES = ResultSheet(
    "CE Charges",
    (
        Column("License ID", "license_id", Kind.ID, width=12),
        Column("Organization", "organization", width=36),
        Column("License Type", "license_type", width=16),
        Column("Charged Region", "charged_region", width=14),
        Column("Basis", "basis", width=90),
        Column("Policy Clause", "policy_clause", width=9),
    ),
    purpose="§3.2 the region whose allotment each active CE Access Only license uses.",
)

INACTIVITY_REPORT = ResultSheet(
    "Inactivity Report",
    _DECISION_COLUMNS,
    purpose="§1 every active license: finding, exception and whether it may be revoked.",
)

REVOCATIONS = ResultSheet(
    "Revocations",
    _DECISION_COLUMNS,
    purpose="§1 the licenses eligible for revocation (the engine never revokes).",
)

APPEALS_QUEUE = ResultSheet(
    "Appeals Queue",
    (
        Column("Appeal ID", "appeal_id", Kind.ID, width=10),
        Column("Committee", "committee", width=28),
        Column("Organization", "organization", width=36),
        Column("Reason", "reason", width=26),
        Column("Filed On", "filed_on", Kind.DATE, width=12),
        Column("Days Pending", "days_pending", Kind.INTEGER, width=9),
        Column("Overdue", "overdue_text", width=9),
        Column("Last Reviewed On", "last_reviewed_on", Kind.DATE, width=12),
        Column("Respond By", "respond_by", Kind.DATE, width=12),
        Column("License ID", "license_id", Kind.ID, width=10),
        Column("Region", "region", width=12),
        Column("Licenses Requested", "licenses_requested", Kind.INTEGER, width=10),
        Column("Policy Clause", "policy_clause", width=14),
        Column("Explanation", "explanation", width=80),
    ),
    purpose="§4 pending appeals, each routed to its committee, with days pending.",
)

REASSIGNMENT = ResultSheet(
    "Reassignment",
    (
        Column("Rank", "rank", Kind.INTEGER, width=6),
        Column("License ID", "license_id", Kind.ID, width=10),
        Column("Organization", "organization", width=36),
        Column("Region", "region", width=12),
        Column("County", "county", width=18),
        Column("Client Entries (Window)", "client_entries_window", Kind.INTEGER, width=10),
        Column("Reasons", "reasons", width=80),
        Column("Item", "item", width=18),
        Column("Policy Clause", "policy_clause", width=8),
    ),
    purpose="§4 for the CE Committee: removal candidates ranked, licenses available,"
    " pending requests.",
)

SELF_PAY_ESTIMATES = ResultSheet(
    "Self-Pay Estimates",
    (
        Column("Request ID", "request_id", Kind.ID, width=10),
        Column("Organization", "organization", width=36),
        Column("Licenses", "licenses", Kind.INTEGER, width=9),
        Column("Years", "years", Kind.INTEGER, width=7),
        Column("One-Time", "one_time", Kind.MONEY, width=12),
        Column("Annual", "annual", Kind.MONEY, width=12),
        Column("Total", "total", Kind.MONEY, width=12),
        Column("Breakdown", "breakdown", width=90),
        Column("Policy Clause", "policy_clause", width=11),
    ),
    purpose="Addendum 2 estimated self-pay license costs (final costs are set with ICA).",
)

PROBLEMS = ResultSheet(
    "Problems",
    (
        Column("Severity", "severity", width=9),
        Column("Sheet", "sheet", width=16),
        Column("Cell", "cell", width=8),
        Column("Problem", "problem", width=80),
        Column("How To Fix", "how_to_fix", width=60),
    ),
    purpose="What in the workbook or policy needs a person's attention.",
)

RUN_LOG = ResultSheet(
    "Run Log",
    (
        Column("Run At", "run_at", Kind.DATETIME, width=19),
        Column("As Of", "as_of", Kind.DATE, width=12),
        Column("Policy Version", "policy_version", width=10),
        Column("Policy SHA-256", "policy_sha256", width=66),
        Column("Engine Version", "engine_version", width=10),
        Column("Licenses", "licenses", Kind.INTEGER, width=9),
        Column("Eligible", "eligible", Kind.INTEGER, width=9),
        Column("Errors", "errors", Kind.INTEGER, width=8),
        Column("Warnings", "warnings", Kind.INTEGER, width=9),
        Column("Policy File", "policy_file", width=40),
        Column("Ran From", "ran_from", width=16),
    ),
    purpose="One row per recalculation, appended: which policy, which date, what came out.",
)

WATCH_LIST = ResultSheet(
    "Watch List",
    (
        Column("License ID", "license_id", Kind.ID, width=12),
        Column("User", "user", width=22),
        Column("Organization", "organization", width=36),
        Column("License Type", "license_type", width=16),
        Column("Becomes Eligible On", "becomes_eligible_on", Kind.DATE, width=12),
        Column("Rule", "rule", width=22),
        Column("Days Left", "days_left", Kind.INTEGER, width=8),
        Column("Policy Clause", "policy_clause", width=10),
        Column("Explanation", "explanation", width=80),
    ),
    purpose="§8 what becomes eligible for revocation by Next Review if nothing changes, and"
    " exceptions that end or are due for re-review.",
)

REVOCATIONS_DONE = ResultSheet(
    "Revocations Done",
    (
        Column("License ID", "license_id", Kind.ID, width=12),
        Column("User", "user", width=22),
        Column("Organization", "organization", width=36),
        Column("License Type", "license_type", width=16),
        Column("Revoked On", "revoked_on", Kind.DATE, width=12),
        Column("Revoked By", "revoked_by", width=14),
        Column("Revocation Reason", "revocation_reason", width=20),
        Column("Against Policy", "against_policy_text", width=9),
        Column("Policy Clause", "policy_clause", width=10),
        Column("Explanation", "explanation", width=80),
    ),
    purpose="§8 licenses revoked since the previous review, and any revocation the policy"
    " did not allow on its date.",
)

FINDINGS_HISTORY = ResultSheet(
    "Findings History",
    (
        Column("Run At", "run_at", Kind.DATETIME, width=19),
        Column("As Of", "as_of", Kind.DATE, width=12),
        Column("License ID", "license_id", Kind.ID, width=12),
        Column("Finding", "finding", width=14),
        Column("Exception", "exception", width=26),
        Column("Eligible For Revocation", "eligible_for_revocation", width=11),
    ),
    purpose="§8 appended, never replaced: each license's finding whenever it changed, one"
    " row per change.",
)

# Findings History read back as input (earlier runs' rows), with the same headers.
HISTORY_INPUT = InputSheet(
    FINDINGS_HISTORY.name,
    (
        Column("Run At", "run_at", Kind.DATETIME),
        Column("As Of", "as_of", Kind.DATE, required=True),
        Column("License ID", "license_id", Kind.ID, required=True),
        Column("Finding", "finding", required=True, blank_allowed=True),
        Column("Exception", "exception"),
        Column(
            "Eligible For Revocation", "eligible", Kind.YESNO, required=True, blank_allowed=True
        ),
    ),
    None,
    optional=True,
    purpose=FINDINGS_HISTORY.purpose,
)

RESULT_SHEETS: tuple[ResultSheet, ...] = (
    ALLOTMENTS,
    CE_CHARGES,
    INACTIVITY_REPORT,
    REVOCATIONS,
    WATCH_LIST,
    REVOCATIONS_DONE,
    APPEALS_QUEUE,
    REASSIGNMENT,
    SELF_PAY_ESTIMATES,
    PROBLEMS,
    RUN_LOG,
    FINDINGS_HISTORY,
)
# Sheets that keep their rows and gain new ones on every run, instead of being replaced.
APPENDED_SHEETS: tuple[ResultSheet, ...] = (RUN_LOG, FINDINGS_HISTORY)


def result_sheet(name: str) -> ResultSheet:
    return next(s for s in RESULT_SHEETS if s.name == name)


# ------------------------------------------------------------ appended sheets' continuations

MAX_ROWS = 1_048_576  # Excel's grid: a full appended sheet continues on the next


def continuation_name(name: str, number: int) -> str:
    """The sheet an appended sheet continues on once it is full: "Run Log 2"."""
    return name if number == 1 else f"{name} {number}"


def continuation_number(name: str, title: str) -> int | None:
    """1 for the sheet itself, N (2-999) for its Nth continuation, None for any other
    sheet (a sheet staff renamed with a year, "Run Log 2026", is theirs)."""
    wanted, found = header_key(name), header_key(title)
    if found == wanted:
        return 1
    match = re.fullmatch(re.escape(wanted) + r" (\d{1,3})", found)  # not "Run Log 2026"
    if match is None or int(match.group(1)) < 2:
        return None
    return int(match.group(1))
