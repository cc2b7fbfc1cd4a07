"""§4 License Revocation Appeals Process: routing and the pending-appeals queue.

Inactivity appeals and special requests go to the Performance Committee; CE allotment
revocations, denials and additional-allotment requests to the Coordinated Entry
Committee (names and routing from policy.yaml). Both committees "must respond to all
pending appeals and requests during each monthly meeting", so an appeal pending longer
than the policy's response period (one month as adopted) is overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from engine.inactivity import natural_key
from engine.model import AppealRow, Policy, QueuedAppeal, name_key

_SECTION = {
    "performance": "§4 Inactivity Appeal",
    "coordinated_entry": "§4 CE-Allotment Appeal",
}


def committee_key(policy: Policy, reason: str) -> str:
    """The policy key of the committee that hears an appeal with this reason."""
    for known, committee in policy.appeal_routing.items():
        if name_key(known) == name_key(reason):
            return committee
    return "performance" if "inactiv" in reason.casefold() else "coordinated_entry"


def committee_name(policy: Policy, reason: str) -> str:
    key = committee_key(policy, reason)
    return policy.committees.get(key, key)


def appeals_queue(
    policy: Policy, appeals: Sequence[AppealRow], as_of: dt.date
) -> list[QueuedAppeal]:
    """Every appeal pending on the as-of date, for its committee, oldest first."""
    order = list(policy.committees)
    period = policy.appeal_response_period
    queue = []
    for appeal in appeals:
        if name_key(appeal.decision) != "pending" or appeal.filed_on > as_of:
            continue
        key = committee_key(policy, appeal.reason)
        committee = policy.committees.get(key, key)
        respond_by = period.after(appeal.filed_on)
        days = (as_of - appeal.filed_on).days
        overdue = as_of > respond_by
        status = (
            f"overdue: the committee was to respond by {respond_by}"
            if overdue
            else f"the committee is to respond by {respond_by}"
        )
        queue.append(
            QueuedAppeal(
                appeal_id=appeal.appeal_id,
                committee=committee,
                organization=appeal.organization,
                reason=appeal.reason,
                filed_on=appeal.filed_on,
                days_pending=days,
                overdue=overdue,
                respond_by=respond_by,
                license_id=appeal.license_id,
                region=appeal.region,
                licenses_requested=appeal.licenses_requested,
                explanation=(
                    f"{appeal.reason}: heard by the {committee}. Pending {days} days since"
                    f" {appeal.filed_on}; the response period is {period.describe()} (one"
                    f" monthly meeting), so {status}. {_SECTION.get(key, '§4')}"
                ),
                policy_clause=_SECTION.get(key, "§4"),
            )
        )
    queue.sort(
        key=lambda q: (
            order.index(committee_key(policy, q.reason))
            if committee_key(policy, q.reason) in order
            else len(order),
            q.filed_on,
            natural_key(q.appeal_id),
        )
    )
    return queue
