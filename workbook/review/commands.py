"""The `packet` and `notices` commands, and the packet writer the Excel button shares.

The command line reads the workbook exactly as `check` does and passes the Outcome in
(`run_packet(args, outcome)`); the Excel Packet button reads the open book and calls
`write_packets` with its Outcome. Neither writes anything into the workbook.

Exit codes (SPEC §5): 0 written; 1 written, but the workbook has Errors (the packet is
marked NOT FINAL and lists them; notices are drafted for what could be judged); 2 bad
arguments, an unreadable workbook or a bad policy (nothing is written).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from workbook.review.files import (
    check_documents,
    check_packet_destination,
    notices_folder,
    packet_file_name,
    save_document,
)
from workbook.review.packet import (
    Committee,
    as_of_unread,
    build_packet,
    committee_name,
    later_review_note,
)
from workbook.run import Outcome

if TYPE_CHECKING:
    from workbook.review.notices import Notice


@dataclass(frozen=True, slots=True)
class WrittenPacket:
    committee: Committee
    path: Path
    pages: int
    final: bool
    counts: dict[str, int | None] = field(default_factory=dict)


def check_review_arguments(args: argparse.Namespace) -> None:
    """What can be refused before the workbook is read (exit 2)."""
    if args.command == "packet" and args.output is not None:
        check_packet_destination(args.output, args.workbook)


def run_review(args: argparse.Namespace, outcome: Outcome, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if outcome.results is None:  # the policy did not load: the problems say why
        if args.json:  # the one JSON object, with nothing written
            report = _report_head(args, outcome, [])
            report["packets" if args.command == "packet" else "drafts"] = []
            print(json.dumps(report, indent=2), file=out)
        return outcome.exit_code
    note = later_review_note(outcome, "packet" if args.command == "packet" else "set of notices")
    notes = [note] if note else []
    if note and not args.json:
        print(f"Note: {note}", file=sys.stderr)
    if args.command == "packet":
        written = write_packets(outcome, (args.committee,), args.workbook, destination=args.output)
        _report_packets(args, outcome, written, out, notes)
    else:
        notices = write_notices(outcome, notices_folder(args.output))
        _report_notices(args, outcome, notices, out, notes)
    return outcome.exit_code


def write_packets(
    outcome: Outcome,
    committees: Sequence[Committee],
    workbook: Path,
    *,
    destination: Path | None = None,
) -> list[WrittenPacket]:
    """Render and save each committee's packet; beside `workbook` unless `destination`."""
    from workbook.review.pdf import render  # reportlab loads only when a packet is made

    if outcome.policy is None:
        raise ValueError("a packet needs a run whose policy loaded")
    as_of: dt.date | str = outcome.as_of.value  # type: ignore[assignment]
    if as_of_unread(outcome):
        as_of = "as of not read"
    paths = {
        committee: destination
        or workbook.parent
        / packet_file_name(workbook, committee_name(outcome.policy, committee), as_of)
        for committee in committees
    }
    check_documents(list(paths.values()))  # before a page is rendered or a file written
    written = []
    for committee in committees:
        path = paths[committee]
        packet = build_packet(outcome, committee, workbook_name=workbook.name)
        data, pages = render(packet)
        save_document(path, data)
        written.append(WrittenPacket(committee, path, pages, packet.final, dict(packet.counts)))
    return written


def write_notices(outcome: Outcome, folder: Path) -> list[tuple[Notice, Path]]:
    """Every draft saved in `folder`; file names unique and safe on every system."""
    # Loaded here, with the email package: building the parser (every command) needs
    # neither.
    from workbook.review.notices import DRAFT_FILE_POLICY, organization_notices, region_notices

    taken: set[str] = set()
    notices = organization_notices(outcome, taken=taken) + region_notices(outcome, taken=taken)
    check_documents([folder / notice.file_name for notice in notices])
    saved = []
    for notice in notices:
        path = folder / notice.file_name
        save_document(path, notice.message.as_bytes(policy=DRAFT_FILE_POLICY))
        saved.append((notice, path))
    return saved


def _report_head(args: argparse.Namespace, outcome: Outcome, notes: list[str]) -> dict[str, Any]:
    """The keys `packet --json` and `notices --json` share: the command, its outcome, and
    the workbook's problems and notes (which, with --json, are not printed on stderr)."""
    report: dict[str, Any] = {
        "command": args.command,
        "outcome": outcome.outcome_word,
        "workbook": str(args.workbook),
        # null when the Settings sheet's As Of could not be read: no date is the run's
        "as_of": None if as_of_unread(outcome) else str(outcome.as_of.value),
        "exit_code": outcome.exit_code,
    }
    if args.command == "notices":
        report["folder"] = str(args.output)
    report["problems"] = outcome.problems_json()
    report["notes"] = notes
    return report


def _report_packets(
    args: argparse.Namespace,
    outcome: Outcome,
    written: Sequence[WrittenPacket],
    out: TextIO,
    notes: list[str],
) -> None:
    if args.json:
        report = _report_head(args, outcome, notes) | {
            "packets": [
                {
                    "committee": w.committee,
                    "path": str(w.path),
                    "pages": w.pages,
                    "final": w.final,
                    "counts": w.counts,
                }
                for w in written
            ],
        }
        print(json.dumps(report, indent=2), file=out)
        return
    for w in written:
        state = "" if w.final else "; NOT FINAL: the workbook has errors, listed on its cover"
        print(f"Wrote:    {w.path} ({w.pages} pages{state})", file=out)


def _report_notices(
    args: argparse.Namespace,
    outcome: Outcome,
    saved: Sequence[tuple[Notice, Path]],
    out: TextIO,
    notes: list[str],
) -> None:
    from workbook.review.notices import withheld_notices

    without = [n for n, _ in saved if not n.to]
    withheld = withheld_notices(outcome)
    if args.json:
        report = _report_head(args, outcome, notes) | {
            "drafts": [
                {
                    "kind": n.kind,
                    "name": n.name,
                    "path": str(p),
                    "to": list(n.to),
                    "subject": n.subject,
                    "no_recipient": n.no_recipient,
                }
                for n, p in saved
            ],
            "counts": {
                "organizations": sum(n.kind == "organization" for n, _ in saved),
                "regions": sum(n.kind == "region" for n, _ in saved),
                "without_recipient": len(without),
            },
            "not_drafted": withheld,
        }
        print(json.dumps(report, indent=2), file=out)
        return
    organizations = sum(n.kind == "organization" for n, _ in saved)
    print(
        f"Wrote:    {len(saved)} drafts in {args.output} ({organizations} to organizations,"
        f" {len(saved) - organizations} to CE Leads); none was sent",
        file=out,
    )
    for notice in without:
        print(f"          No recipient for {notice.name}: {notice.no_recipient}", file=out)
    for kind, why in withheld.items():
        whom = "organizations" if kind == "organization" else "CE Leads"
        print(f"Not drafted: notices to {whom}: {why}. Fix the errors and run again.", file=out)
