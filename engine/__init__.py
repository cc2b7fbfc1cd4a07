"""The policy engine: pure functions from a policy, input tables and a date to results.

    results = engine.recalculate(policy, inputs, as_of)

No file, Excel, clock or network is touched here; the command line, the Excel button and
the worksheet functions all call this same function.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import PurePath

from engine._version import __version__
from engine.allotment import allot, region_populations
from engine.appeals import appeals_queue
from engine.charging import charge_ce_licenses, with_use
from engine.errors import HmisLicensingError
from engine.inactivity import judge_licenses
from engine.model import Inputs, Policy, Results
from engine.reassignment import reassignment_agenda
from engine.selfpay import quotes
from engine.validate import sorted_problems, validate

ENGINE_VERSION = __version__

__all__ = [
    "ENGINE_VERSION",
    "HmisLicensingError",
    "Inputs",
    "Policy",
    "Results",
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
    charges, charge_problems = charge_ce_licenses(policy, inputs, as_of)
    problems += charge_problems
    allotments = with_use(allotments, charges)
    if summary is not None:
        in_use = sum(a.in_use or 0 for a in allotments)
        summary = replace(summary, in_use=in_use, available=summary.total_allotment - in_use)
    return Results(
        decisions=tuple(decisions),
        allotments=tuple(allotments),
        allotment_summary=summary,
        problems=tuple(sorted_problems(problems)),
        ce_charges=tuple(charges),
        appeals_queue=tuple(appeals_queue(policy, inputs.appeals or (), as_of)),
        reassignment=tuple(reassignment_agenda(policy, inputs, as_of, allotments, charges)),
        self_pay_estimates=tuple(quotes(policy, inputs.self_pay_requests or ())),
    )
