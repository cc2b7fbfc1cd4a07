"""The policy engine: pure functions from a policy, input tables and a date to results.

    results = engine.recalculate(policy, inputs, as_of)

No file, Excel, clock or network is touched here; the command line, the Excel button and
the worksheet functions all call this same function.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath

from engine._version import __version__
from engine.allotment import allot, region_populations
from engine.errors import HmisLicensingError, PolicyError, UsageError, WorkbookError
from engine.inactivity import judge_licenses
from engine.model import Inputs, Policy, Results
from engine.validate import sorted_problems, validate

ENGINE_VERSION = __version__

__all__ = [
    "ENGINE_VERSION",
    "HmisLicensingError",
    "Inputs",
    "Policy",
    "PolicyError",
    "Results",
    "UsageError",
    "WorkbookError",
    "recalculate",
]


def recalculate(policy: Policy, inputs: Inputs, as_of: dt.date) -> Results:
    """Apply the policy to the workbook's inputs as of a date."""
    problems = validate(policy, inputs)
    populations, population_problems = region_populations(inputs.regions, inputs.counties)
    problems += population_problems
    allotments, summary, allotment_problems = allot(
        policy.ce_allotment,
        [(region.region, population) for region, population in populations],
        policy_file=PurePath(policy.source).name if policy.source else "policy.yaml",
    )
    problems += allotment_problems
    decisions = judge_licenses(policy, inputs.licenses, inputs.appeals, as_of)
    return Results(
        decisions=tuple(decisions),
        allotments=tuple(allotments),
        allotment_summary=summary,
        problems=tuple(sorted_problems(problems)),
    )
