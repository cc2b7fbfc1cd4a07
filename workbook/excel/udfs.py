"""Worksheet functions: the engine's own answer for one set of values, in a cell.

    =HMIS_ALLOTMENT(596788, 2909430)                         4        (§2)
    =HMIS_LICENSE_FINDING(H2, I2, J2, DATE(2026,11,24))      Inactive (§1.1/§1.2)
    =HMIS_SELF_PAY_COST(3, 2)                                14259    (Addendum 2)
    =HMIS_POLICY("ce_allotment.target")                      20

Each calls the same engine function the Recalculate button uses (`allotment_for`,
`finding_for`, `estimate`, `lookup`), so a function and the result sheets cannot disagree
for the same policy. Bad input gives a readable "Error: ..." text in the cell, never a
traceback.

Which policy ("the current policy"): a worksheet function cannot see the Settings sheet in
every Excel (Excel on the web gives it only its arguments), so each function takes an
optional last argument `policy`:

1. the `policy` argument when given: a policy file's full path (desktop Excel), or the
   cells holding the policy text, such as a Policy sheet (`Policy!A1:A200`; every Excel,
   and Excel recalculates the function when those cells change);
2. else the policy file named by the environment variable HMIS_LICENSING_POLICY;
3. else the adopted policy shipped with hmis-licensing.

`HMIS_POLICY("policy.version")` and `HMIS_POLICY("sha256")` show which one a cell used.

Desktop Excel (Windows) reaches these through the ribbon add-in's module `hmis_licensing`,
Excel on the web through `workbook.excel.lite`; both register these very functions. The Python
functions carry no type hints on purpose: xlwings reads hints as value converters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import xlwings as xw

from engine.allotment import allotment_for
from engine.errors import HmisLicensingError
from engine.inactivity import finding_for
from engine.model import LicenseRow, Policy
from engine.selfpay import LEAST_LICENSES, LEAST_YEARS, estimate
from policy import adopted_policy_path, load_policy, load_policy_bytes, lookup
from policy.errors import PolicyError
from workbook.policy_sheet import policy_text
from workbook.values import CellError, is_blank, parse_date, parse_number

CATEGORY = "HMIS Licensing"
POLICY_VARIABLE = "HMIS_LICENSING_POLICY"

# What Excel's function wizard says about each argument (255 characters at most).
ARGUMENT_DOCS = {
    "population": "The region's population, a whole number (e.g. 596788).",
    "total_population": "The population of all regions together, a whole number"
    " (e.g. 2909430, the Balance of State).",
    "granted_on": "The date the license was granted.",
    "first_sign_in": "The date of the license's first sign-in; blank if never signed in.",
    "last_client_data_entry": "The date the user last entered or updated client data;"
    " blank if never. Logins do not count.",
    "as_of": "The date to judge on; blank means today (use TODAY() to recalculate daily).",
    "last_login": "Optional: the date of the license's last login; a login is a sign-in"
    " (§1.2), as on the Licenses sheet.",
    "licenses": "How many licenses, a whole number of at least 1.",
    "years": "For how many years, a whole number of at least 1.",
    "key": 'A policy.yaml key path, e.g. "ce_allotment.target" or'
    ' "inactivity.client_data_window.months"; "sha256" for the fingerprint.',
    "policy": "Optional: a policy file's full path, or the cells of a Policy sheet"
    " (e.g. Policy!A1:A200). Blank: HMIS_LICENSING_POLICY, else the adopted policy.",
}


@xw.func(category=CATEGORY)
@xw.arg("population", doc=ARGUMENT_DOCS["population"])
@xw.arg("total_population", doc=ARGUMENT_DOCS["total_population"])
@xw.arg("policy", ndim=2, doc=ARGUMENT_DOCS["policy"])
def HMIS_ALLOTMENT(population, total_population, policy=None):
    """§2 CE Access Only licenses for a region: population/total × target, rounded, ≥ minimum."""
    return answer(lambda: allotment(population, total_population, policy))


@xw.func(category=CATEGORY)
@xw.arg("granted_on", doc=ARGUMENT_DOCS["granted_on"])
@xw.arg("first_sign_in", doc=ARGUMENT_DOCS["first_sign_in"])
@xw.arg("last_client_data_entry", doc=ARGUMENT_DOCS["last_client_data_entry"])
@xw.arg("as_of", doc=ARGUMENT_DOCS["as_of"])
@xw.arg("policy", ndim=2, doc=ARGUMENT_DOCS["policy"])
@xw.arg("last_login", doc=ARGUMENT_DOCS["last_login"])
def HMIS_LICENSE_FINDING(
    granted_on, first_sign_in, last_client_data_entry, as_of=None, policy=None, last_login=None
):
    """§1 finding before exceptions: Active, Inactive (§1.1) or Not signed in (§1.2)."""
    return answer(
        lambda: license_finding(
            granted_on, first_sign_in, last_client_data_entry, as_of, policy, last_login
        )
    )


@xw.func(category=CATEGORY)
@xw.arg("licenses", doc=ARGUMENT_DOCS["licenses"])
@xw.arg("years", doc=ARGUMENT_DOCS["years"])
@xw.arg("policy", ndim=2, doc=ARGUMENT_DOCS["policy"])
def HMIS_SELF_PAY_COST(licenses, years, policy=None):
    """Addendum 2 estimated self-pay cost: one-time fees × licenses + annual × licenses × years."""
    return answer(lambda: self_pay_cost(licenses, years, policy))


@xw.func(category=CATEGORY)
@xw.arg("key", doc=ARGUMENT_DOCS["key"])
@xw.arg("policy", ndim=2, doc=ARGUMENT_DOCS["policy"])
def HMIS_POLICY(key, policy=None):
    """A value of the policy by its policy.yaml key, e.g. "ce_allotment.target" gives 20."""
    return answer(lambda: policy_value(key, policy))


FUNCTIONS = (HMIS_ALLOTMENT, HMIS_LICENSE_FINDING, HMIS_SELF_PAY_COST, HMIS_POLICY)


# ------------------------------------------------------------- the answers themselves


def allotment(population: object, total_population: object, policy: object = None) -> int:
    rules = policy_for(policy).ce_allotment
    if rules.method == "largest_remainder":
        # One region's share of the target then depends on every other region's
        # remainder: a number from one population would disagree with Allotments.
        raise ValueError(
            "the policy's ce_allotment.method is largest_remainder, so a region's allotment"
            " depends on every region's population: see the Allotments sheet (Recalculate)."
        )
    return allotment_for(
        rules,
        whole_number("population", population, minimum=1),
        whole_number("total_population", total_population, minimum=1),
    )


def license_finding(
    granted_on: object,
    first_sign_in: object,
    last_client_data_entry: object,
    as_of: object = None,
    policy: object = None,
    last_login: object = None,
) -> str:
    chosen = policy_for(policy)
    granted = date_argument("granted_on", granted_on)
    if granted is None:
        raise ValueError("granted_on is blank: give the date the license was granted.")
    row = LicenseRow(
        license_id="",
        user="",
        organization="",
        license_type="",
        granted_on=granted,
        first_sign_in=date_argument("first_sign_in", first_sign_in),
        last_client_data_entry=date_argument("last_client_data_entry", last_client_data_entry),
        last_login=date_argument("last_login", last_login),
    )
    finding, _explanation = finding_for(
        chosen, row, date_argument("as_of", as_of) or dt.date.today()
    )
    return finding


def self_pay_cost(licenses: object, years: object, policy: object = None) -> int | float:
    cost = estimate(
        policy_for(policy),
        whole_number("licenses", licenses, minimum=LEAST_LICENSES),  # as the sheet refuses
        whole_number("years", years, minimum=LEAST_YEARS),
    )
    return _number(cost.total)


def policy_value(key: object, policy: object = None) -> object:
    chosen = policy_for(policy)
    key = scalar(key)  # a cell holding the key arrives as its value, or as a 1x1 range
    path = "" if is_blank(key) else str(key).strip()
    if not path:
        raise ValueError("key is blank; use one of: " + ", ".join(chosen.raw) + ", sha256.")
    try:
        value = lookup(chosen, path)
    except KeyError:
        if path in ("sha256", "source"):
            return getattr(chosen, path)
        raise
    if isinstance(value, dict):
        keys = ", ".join(f"{path}.{k}" for k in value)
        raise ValueError(f"{path} holds several values; ask for one of: {keys}.")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return _number(value)
    return "" if value is None else value


# ---------------------------------------------------------------- reading arguments


def answer(compute: Callable[[], object]) -> object:
    """The result, or a readable "Error: ..." for the cell instead of a traceback."""
    try:
        return compute()
    except PolicyError as exc:
        return f"Error: {exc.message}"
    except (HmisLicensingError, ValueError) as exc:
        return f"Error: {exc}"
    except KeyError as exc:
        return f"Error: {exc.args[0] if exc.args else exc}"
    except Exception as exc:  # a bug: still no traceback in a cell
        return f"Error: internal error ({type(exc).__name__}: {exc}); please report it."


def whole_number(name: str, raw: object, *, minimum: int) -> int:
    raw = scalar(raw)
    if is_blank(raw):
        raise ValueError(f"{name} is blank: give a whole number.")
    value = parse_number(raw, whole=True)
    if isinstance(value, CellError):
        raise ValueError(f"{name}: {value.problem}")
    if value < minimum:
        raise ValueError(f"{name}: {value} is less than {minimum}.")
    return int(value)


def date_argument(name: str, raw: object) -> dt.date | None:
    """A date given as a date, an Excel serial number or ISO text; blank (or 0) is None.

    Excel passes a date cell to a function as its serial number, and some Excels pass an
    empty cell as 0, which is no date (serial 0 is "1900-01-00").
    """
    raw = scalar(raw)
    if is_blank(raw) or (isinstance(raw, int | float) and not isinstance(raw, bool) and raw == 0):
        return None
    value = parse_date(raw)
    if isinstance(value, CellError):
        raise ValueError(f"{name}: {value.problem}")
    return value


def scalar(raw: object) -> object:
    """One value from what Excel passed: a single cell may arrive as [[value]]."""
    while isinstance(raw, list | tuple) and len(raw) == 1:
        raw = raw[0]
    if isinstance(raw, list | tuple):
        raise ValueError("give a single cell, not a range.")
    return raw


def _number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


# ------------------------------------------------------------------- the policy


_by_file: dict[tuple[str, int, int], Policy] = {}
_by_text: dict[str, Policy] = {}
_CACHE_SIZE = 16


def policy_for(argument: object = None) -> Policy:
    """The current policy for a function call (see the module's docstring for the order)."""
    grid = _grid(argument)
    if grid is None:
        named = os.environ.get(POLICY_VARIABLE, "").strip()
        if named:
            return _from_file(named, f"the {POLICY_VARIABLE} environment variable")
        return _from_file(str(adopted_policy_path()), "the adopted policy")
    cells = [row[0] if row else None for row in grid]
    filled = [c for c in cells if not is_blank(c)]
    if len(filled) == 1 and isinstance(filled[0], str) and "\n" not in filled[0].strip():
        return _from_file(filled[0].strip(), "the policy argument")
    return _from_text(policy_text(grid))


def _grid(argument: object) -> list[list[object]] | None:
    if argument is None or (isinstance(argument, str) and not argument.strip()):
        return None
    if not isinstance(argument, list | tuple):
        return [[argument]]
    rows = [list(r) if isinstance(r, list | tuple) else [r] for r in argument]
    if all(is_blank(v) for row in rows for v in row):
        return None
    return rows


def _from_file(name: str, origin: str) -> Policy:
    path = Path(name).expanduser()
    if not path.is_absolute():
        raise ValueError(
            f'{name}: {origin} must be a full path (e.g. "C:\\CoC\\policy.yaml"): a'
            " worksheet function does not know the workbook's folder."
        )
    try:
        status = path.stat()
    except OSError:
        if sys.platform == "emscripten":
            raise ValueError(
                f"{name}: Excel on the web cannot read files; pass the cells holding the"
                " policy instead, e.g. Policy!A1:A200."
            ) from None
        raise PolicyError(f"{name}: no such policy file.") from None
    key = (str(path), status.st_mtime_ns, status.st_size)
    if key not in _by_file:
        _remember(_by_file, key, load_policy(path))
    return _by_file[key]


def _from_text(text: str) -> Policy:
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if key not in _by_text:
        _remember(_by_text, key, load_policy_bytes(text.encode("utf-8"), source="Policy cells"))
    return _by_text[key]


def _remember(cache: dict, key: object, policy: Policy) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = policy
