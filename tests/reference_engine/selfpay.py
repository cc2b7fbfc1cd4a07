"""Addendum 2: the estimated cost of self-pay licenses.

one-time fees x licenses + annual fees x licenses x years, fees from policy.yaml ($185 one
time; $284 and $2,000 a year as adopted). The policy calls these estimates: "Final costs
will be established with your agreement between ICA and your organization."
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tests.reference_engine.model import Policy, SelfPayQuote, SelfPayRequestRow

# Addendum 2 prices licenses kept for whole years: an estimate is for at least one license
# for at least one year. The Self-Pay Requests sheet's columns and HMIS_SELF_PAY_COST refuse
# less with these very bounds, so a function and the sheet cannot disagree.
LEAST_LICENSES = 1
LEAST_YEARS = 1


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}".replace(".00", "")


def estimate(
    policy: Policy, licenses: int, years: int, *, request_id: str = "", organization: str = ""
) -> SelfPayQuote:
    """The Addendum 2 estimate for `licenses` licenses kept for `years` years."""
    for name, value, least in (
        ("licenses", licenses, LEAST_LICENSES),
        ("years", years, LEAST_YEARS),
    ):
        if value < least:
            raise ValueError(f"{name}: {value} is less than {least}.")
    one_time = sum(policy.one_time_fees.values(), Decimal(0)) * licenses
    annual_per_license = sum(policy.annual_fees.values(), Decimal(0))
    annual = annual_per_license * licenses * years
    parts = [f"{name} {_money(fee)} × {licenses}" for name, fee in policy.one_time_fees.items()] + [
        f"{name} {_money(fee)} × {licenses} × {years} yr"
        for name, fee in policy.annual_fees.items()
    ]
    breakdown = (
        " + ".join(parts)
        + f" = {_money(one_time + annual)}. An estimate: final costs are set with ICA."
        " Addendum 2"
    )
    return SelfPayQuote(
        request_id=request_id,
        organization=organization,
        licenses=licenses,
        years=years,
        one_time=one_time,
        annual=annual,
        total=one_time + annual,
        breakdown=breakdown,
    )


def quotes(policy: Policy, requests: Sequence[SelfPayRequestRow]) -> list[SelfPayQuote]:
    """An Addendum 2 estimate for every Self-Pay Requests row."""
    return [
        estimate(
            policy,
            request.licenses_requested,
            request.years,
            request_id=request.request_id,
            organization=request.organization,
        )
        for request in requests
    ]
