"""The monthly review's documents (SPEC §8): committee packets (PDF) and notice drafts (.eml).

Packets are read back as a committee member would get them: their text (pypdf), their
pages rendered to PNG (pdftoppm, as a printer driver would) and the size of every piece
of text drawn. Until the engine fills Findings History, the Watch List and Revocations
Done, the sections that show them are tested with `Results` carrying real values; the
rest runs end to end on the sample through the command line.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from engine.model import Inputs, OrganizationRow, RevocationRecord, WatchItem
from tests.conftest import AS_OF, SAMPLE, d, minimal_sheets, sheet_dicts, write_workbook
from workbook.cli import main
from workbook.review.commands import write_notices, write_packets
from workbook.review.notices import organization_notices, recipients, region_notices
from workbook.review.packet import build_packet
from workbook.review.pdf import TABLE_SIZE, render
from workbook.review.text import one_line, safe_file_name
from workbook.run import Outcome, evaluate
from workbook.xlsx.read import read_snapshot

NEXT_REVIEW = d("2026-12-24")
PREVIOUS = d("2026-10-24")

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None and not os.environ.get("HMIS_REQUIRE_POPPLER"),
    reason="pdftoppm (poppler-utils) is not installed; .ci/run installs it",
)


# ------------------------------------------------------------------------------ helpers


def sample_copy(folder: Path, name: str = "sample.xlsx", **edits: object) -> Path:
    """The sample workbook, with cells equal to a key of `edits` replaced by its value,
    on every sheet (so an organization renamed stays the same organization)."""
    path = folder / name
    shutil.copy(SAMPLE, path)
    if edits:
        book = openpyxl.load_workbook(path)
        try:
            for sheet in book.worksheets:
                for row in sheet.iter_rows():
                    for cell in row:
                        if isinstance(cell.value, str) and cell.value in edits:
                            cell.value = edits[cell.value]
            book.save(path)
        finally:
            book.close()
    return path


def set_contact(path: Path, organization: str, email_address: str | None) -> None:
    book = openpyxl.load_workbook(path)
    try:
        sheet = book["Organizations"]
        header = [c.value for c in sheet[1]]
        column = header.index("Contact Email") + 1
        for row in sheet.iter_rows(min_row=2):
            if row[0].value == organization:
                row[column - 1].value = email_address
        book.save(path)
    finally:
        book.close()


def outcome_of(path: Path) -> Outcome:
    return evaluate(
        read_snapshot(path),
        workbook_folder=path.parent,
        as_of=AS_OF,
        today=AS_OF,
        now=dt.datetime(2026, 11, 24, 9, 30),
        ran_from="test",
    )


@pytest.fixture(scope="module")
def sample_outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    return outcome_of(sample_copy(tmp_path_factory.mktemp("sample")))


def with_review(outcome: Outcome) -> Outcome:
    """The sample's Outcome with what the §8 engine work gives: history, watch list,
    revocations on record, Next Review, an allotment added by appeal."""
    results = outcome.results
    assert results is not None
    eligible = [x.license_id for x in results.revocations]
    newly = set(eligible[:3])
    decisions = tuple(
        replace(
            x,
            eligible_since=(AS_OF if x.license_id in newly else PREVIOUS),
            change_since_last_review="Newly eligible"
            if x.license_id in newly
            else "Still eligible",
        )
        if x.eligible
        else x
        for x in results.decisions
    )
    watch = (
        WatchItem(
            "L-9001",
            "Pat Example",
            "Dunklin County Shelter",
            "Housing Project",
            d("2026-12-02"),
            "§1.1 no client data",
            8,
            "Last client data on 2026-06-01; from 2026-12-02 that is more than six months"
            " before the as-of date. §1.1",
            "§1.1",
        ),
    )
    revoked = (
        RevocationRecord(
            "L-9002",
            "Lee Holder",
            "Rolla Mission",
            "CE Access Only",
            d("2026-11-02"),
            "HMIS Lead",
            "Inactivity §1.1",
            True,
            "Revoked while a Level 4 List Holder (§1.E2): the policy did not allow it.",
            "§1.E2",
        ),
    )
    allotments = tuple(
        replace(a, added_by_appeal=1, available=(a.available or 0) + 1)
        if a.region == "Region 5"
        else a
        for a in results.allotments
    )
    outcome.results = replace(
        results,
        decisions=decisions,
        watch_list=watch,
        revocations_done=revoked,
        allotments=allotments,
        next_review=NEXT_REVIEW,
        previous_review=PREVIOUS,
    )
    return outcome


def page_texts(pdf: Path | bytes) -> list[str]:
    reader = PdfReader(pdf if isinstance(pdf, Path) else io.BytesIO(pdf))
    return [page.extract_text() or "" for page in reader.pages]


def flat(text: str) -> str:
    return " ".join(text.split())


def text_sizes(pdf: Path) -> Counter[float]:
    """The size, in points on the page, of every piece of text drawn."""
    sizes: Counter[float] = Counter()
    for page in PdfReader(pdf).pages:

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
            if text.strip():
                # The text matrix times the page's: the vertical scale of the text.
                c = tm[2] * cm[0] + tm[3] * cm[2]
                d_ = tm[2] * cm[1] + tm[3] * cm[3]
                sizes[round(size * math.hypot(c, d_), 2)] += 1

        page.extract_text(visitor_text=visit)
    return sizes


def layout_text(pdf: Path) -> str:
    run = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    )
    return run.stdout


# ------------------------------------------------------------------------ the packets


def test_the_performance_packet_lists_every_eligible_license_on_legible_pages(
    tmp_path: Path, sample_outcome: Outcome
) -> None:
    workbook = sample_copy(tmp_path)
    before = workbook.read_bytes()
    assert main(["packet", str(workbook), "--committee", "performance"]) == 0
    pdf = tmp_path / "sample - Performance Committee packet 2026-11-24.pdf"
    assert pdf.is_file(), "written beside the workbook, named for the committee and As Of"
    assert workbook.read_bytes() == before, "nothing is written into the workbook"
    pages = page_texts(pdf)
    text = "\n".join(pages)
    assert sample_outcome.results is not None
    eligible = [x.license_id for x in sample_outcome.results.revocations]
    assert len(eligible) == 21
    for license_id in eligible:
        assert license_id in text
    assert "Performance Committee packet" in pages[0]
    assert sample_outcome.policy is not None
    assert sample_outcome.policy.sha256 in pages[0], "the cover gives the policy's fingerprint"
    assert "MO-606" in pages[0] and "Eligible for revocation 21" in flat(pages[0])
    # As recalc counts them (140 judged): revoked and not-yet-granted rows are listed, not judged.
    listed = len(sample_outcome.results.decisions)
    judged = f"Active licenses judged 140 of {listed} listed"
    assert judged in flat(pages[0]) or judged in flat(pages[1])
    # The findings in brackets add up to the 140; the rows not judged are counted after.
    tally = re.search(r"140 of \d+ listed \(([^)]*)\); (\d+) not judged", flat(text))
    assert tally is not None
    assert sum(int(n.split()[0]) for n in tally.group(1).split(", ")) == 140
    assert int(tally.group(2)) == listed - 140
    assert "no Findings History yet" not in text
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "As Of 2026-11-24" in page and "Policy 1.1.0 (183515faf283)" in page
    sizes = text_sizes(pdf)
    assert min(sizes) >= 9, sizes
    assert sizes[TABLE_SIZE] > 100, "tables are set in 9 pt, not shrunk to fit"


@needs_poppler
def test_the_ce_packet_has_the_allotment_table_and_a_chart_on_non_blank_pages(
    tmp_path: Path,
) -> None:
    from PIL import Image

    workbook = sample_copy(tmp_path)
    pdf = tmp_path / "ce.pdf"
    assert main(["packet", str(workbook), "--committee", "ce", "--output", str(pdf)]) == 0
    text = layout_text(pdf)
    # Region, Population, Share, Formula Value, Allotment, Minimum Applied, Added By Appeal,
    # In Use, Available: one line each, as on the Allotments sheet.
    expected = {
        "Region 1": "596,788 20.51% 4.10 4 No 0 4 0",
        "Region 2": "322,655 11.09% 2.22 2 No 0 3 -1",
        "Region 10": "32,984 1.13% 0.23 2 Yes 0 1 1",
        "Not charged to a region": "2",
        "Total": "2,909,430 100.00% 20.00 23 0 27 -4",
    }
    lines = {" ".join(line.split()) for line in text.splitlines()}
    for region, values in expected.items():
        assert f"{region} {values}" in lines, region
    assert "and licenses in use, by region" in text
    # The bars add up to 25 in use; the Total says 27: the chart says why.
    assert (
        "The bars are the regions' own: 2 CE Access Only licenses charged to no region"
        " (L-1021, L-1032) count in the Total's In Use above but in no region's bar"
    ) in " ".join(text.split())
    assert "Reassignment agenda" in text and "L-1002" in text
    assert "A-107" in text and "A-106" in text, "the CE appeals and requests"
    assert "A-104" not in text, "a special request is the Performance Committee's"
    # A-107 was reviewed on 2026-10-08 and is overdue: the definition says how that can be.
    assert (
        "Overdue: still pending one month after it was last reviewed (Last Reviewed On), or"
        " after it was filed when no meeting has reviewed it; Respond By is that day."
    ) in " ".join(text.split())
    pngs = tmp_path / "png"
    pngs.mkdir()
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(pngs / "p")], check=True)
    images = sorted(pngs.glob("p-*.png"))
    assert len(images) == len(page_texts(pdf)) >= 2
    for image_path in images:
        with Image.open(image_path) as image:
            grey = image.convert("L")
            width, height = grey.size
            body = grey.crop((0, int(height * 0.08), width, int(height * 0.92)))
            dark = sum(body.histogram()[:128])
        assert dark > 0.005 * body.width * body.height, f"{image_path.name} is blank"


def test_review_values_are_shown_where_the_committee_reads_them(
    tmp_path: Path, sample_outcome: Outcome
) -> None:
    outcome = with_review(outcome_of(sample_copy(tmp_path)))
    assert outcome.results is not None
    [performance, ce] = write_packets(outcome, ("performance", "ce"), tmp_path / "book.xlsx")
    assert performance.path.name == "book - Performance Committee packet 2026-11-24.pdf"
    assert ce.path.name == "book - Coordinated Entry Committee packet 2026-11-24.pdf"
    pages = page_texts(performance.path)
    text = flat(" ".join(pages))
    assert "Next Review 2026-12-24" in text and "Previous review 2026-10-24" in text
    newly = [x for x in outcome.results.decisions if x.change_since_last_review == "Newly eligible"]
    assert len(newly) == 3
    section = text.split("Newly eligible for revocation")[1].split("All licenses eligible")[0]
    for decision in newly:
        assert decision.license_id in section
    assert "(As Of 2026-10-24)" in section
    assert "L-1044" not in section, "still eligible: not newly"
    assert text.count("2026-10-24") >= 19, "Eligible Since of the still-eligible licenses"
    watch = text.split("Watch list")[-1]
    assert (
        "L-9001" in watch and "2026-12-02" in watch and "by the next review (2026-12-24)" in watch
    )
    revoked = text.split("Revoked since the last review")[-1]
    assert "L-9002" in revoked and "Level 4 List Holder (§1.E2)" in revoked
    assert performance.counts["revoked_against_policy"] == 1
    assert performance.counts["newly_eligible"] == 3
    ce_text = flat(" ".join(page_texts(ce.path)))
    assert "Region 5 202,186 6.95% 1.39 2 Yes 1 2 1" in ce_text, "Added By Appeal shown"
    assert "(with licenses added by appeal)" in ce_text


def test_a_workbook_with_errors_still_gets_a_packet_marked_not_final(tmp_path: Path) -> None:
    sheets = minimal_sheets(
        [
            {
                "License ID": "L-1",
                "User": "A",
                "Organization": "Org A",
                "License Type": "Housing Project",
                "Granted On": "31/02/2026",
            },
            {
                "License ID": "L-2",
                "User": "B",
                "Organization": "Org A",
                "License Type": "Housing Project",
                "Granted On": d("2024-01-01"),
            },
        ]
    )
    workbook = write_workbook(tmp_path / "bad.xlsx", sheets)
    pdf = tmp_path / "bad.pdf"
    code = main(["packet", str(workbook), "--committee", "performance", "--output", str(pdf)])
    assert code == 1
    pages = page_texts(pdf)
    assert "Licenses!H2" in pages[0], "the cover names the error's cell"
    for page in pages:
        assert "NOT FINAL" in page


def _set_cell(path: Path, sheet: str, key: str, header: str, value: object) -> None:
    """The cell of `header` on the row whose first cell is `key` (None: the header cell)."""
    book = openpyxl.load_workbook(path)
    try:
        rows = book[sheet]
        headers = [c.value for c in rows[1]]
        column = headers.index(header) + 1
        for row in rows.iter_rows(min_row=1):
            if row[0].value == key or (key is None and row[0].row == 1):
                rows.cell(row[0].row, column).value = value
                break
        else:
            raise AssertionError(f"no {key} on {sheet}")
        book.save(path)
    finally:
        book.close()


def test_a_held_back_allotments_sheet_is_not_printed_or_sent_with_new_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad population holds back Allotments and Reassignment (SPEC §3): the CE packet
    says so in their sections and counts instead of allotments worked out without that
    region, and no CE Lead gets a draft with such figures (the sheets keep last month's)."""
    workbook = sample_copy(tmp_path)
    _set_cell(workbook, "Regions", "Region 3", "Population", "n/a")
    pdf = tmp_path / "ce.pdf"
    capsys.readouterr()
    argv = ["packet", str(workbook), "--committee", "ce", "--output", str(pdf), "--json"]
    assert main(argv) == 1
    counts = json.loads(capsys.readouterr().out)["packets"][0]["counts"]
    assert counts["regions"] is None and counts["allotted"] is None
    assert counts["removal_candidates"] is None
    assert counts["appeals_pending"] == 3, "the appeals are not held back"
    text = flat(" ".join(page_texts(pdf)))
    assert "2,663,570" not in text, "no total population without Region 3"
    assert "Held back: the Allotments sheet is held back because Regions row 4" in text
    assert "Held back: the Reassignment sheet is held back" in text
    assert "CE appeals and additional-allotment requests" in text
    assert "A-107" in text, "the appeals are still listed"
    appeals = text.split("CE appeals and additional-allotment requests")[-1]
    assert "License ID" in appeals.split("A-107")[0], "a CE appeal names its license"
    folder = tmp_path / "drafts"
    capsys.readouterr()
    assert main(["notices", str(workbook), "--output", str(folder), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["regions"] == 0
    assert report["counts"]["organizations"] > 0, "the inactivity findings are not held back"
    assert "the Allotments sheet is held back" in report["not_drafted"]["region"]
    assert "organization" not in report["not_drafted"]
    assert main(["notices", str(workbook), "--output", str(tmp_path / "again")]) == 1
    out = capsys.readouterr().out
    assert "Not drafted: notices to CE Leads: the Allotments sheet is held back" in out


def test_an_unreadable_appeal_holds_back_what_it_may_change_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3: an Error holds back only what it affects. A-109 (approved, +2 for Region 7)
    with an unreadable Decided On may change the allotments: they are held back, and no CE
    Lead is told of licenses available. A-106 (a pending CE allotment denial) with an
    unreadable Filed On can neither exempt a license nor change an allotment."""
    workbook = sample_copy(tmp_path)
    _set_cell(workbook, "Appeals", "A-109", "Decided On", "14/10/2026")
    capsys.readouterr()
    assert main(["recalc", str(workbook), "--as-of", "2026-11-24", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {"Allotments", "Reassignment"} <= set(report["sheets_held_back"])
    assert main(["notices", str(workbook), "--output", str(tmp_path / "n"), "--json"]) == 1
    assert "region" in json.loads(capsys.readouterr().out)["not_drafted"]

    workbook = sample_copy(tmp_path, "second.xlsx")
    _set_cell(workbook, "Appeals", "A-106", "Filed On", "10/11/2026x")
    capsys.readouterr()
    assert main(["recalc", str(workbook), "--as-of", "2026-11-24", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["sheets_held_back"] == []
    henry = [
        d
        for d in outcome_of(workbook).results.decisions
        if d.organization == "Henry County Housing Connection"
    ]
    assert henry and all(d.finding != "Cannot judge" for d in henry)


def test_an_unreadable_as_of_holds_back_the_packets_and_the_notices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3: with no --as-of, an As Of that cannot be read leaves no date to judge on
    (before, the documents were made as of today, as if a review had been held then):
    every section on the date says it is held back and no notice is drafted. With
    --as-of the cell does not matter."""
    workbook = sample_copy(tmp_path)
    _set_cell(workbook, "Settings", "As Of", "Value", "2026-13-01")
    why = "the Settings sheet's As Of could not be read (see Problems)"
    pdf = tmp_path / "performance.pdf"
    capsys.readouterr()
    argv = ["packet", str(workbook), "--committee", "performance", "--output", str(pdf)]
    assert main([*argv, "--json"]) == 1
    packet = json.loads(capsys.readouterr().out)["packets"][0]
    assert packet["final"] is False
    assert packet["counts"]["eligible"] is None and packet["counts"]["watch_list"] is None
    assert packet["counts"]["appeals_pending"] is None
    text = flat(" ".join(page_texts(pdf)))
    assert f"Held back: the Revocations sheet is held back because {why}" in text
    assert "No license is eligible for revocation" not in text
    # No date anywhere that reads as a review's: not today's, nor one worked out from it.
    assert (
        "As Of could not be read (Settings sheet: As Of; see the errors below), so nothing in"
        " this packet is as of a date"
    ) in text
    assert "Next Review not worked out: the As Of could not be read" in text
    assert "Previous review not worked out: the As Of could not be read" in text
    assert "As Of not read" in page_texts(pdf)[-1]  # every page's header and footer
    assert str(dt.date.today()) not in text
    capsys.readouterr()
    assert main(["packet", str(workbook), "--committee", "ce"]) == 1
    assert (tmp_path / "sample - Coordinated Entry Committee packet as of not read.pdf").exists()
    capsys.readouterr()
    assert main(["notices", str(workbook), "--output", str(tmp_path / "d"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["drafts"] == []
    assert set(report["not_drafted"]) == {"organization", "region"}
    assert all(why in reason for reason in report["not_drafted"].values())

    argv = ["notices", str(workbook), "--output", str(tmp_path / "e"), "--as-of", "2026-11-24"]
    assert main([*argv, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["not_drafted"] == {} and report["counts"]["organizations"] > 0


def test_an_unreadable_next_review_drafts_no_notice_with_a_date_it_made_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3: before, an unreadable Next Review was an Error that held nothing back, and
    the notices said to act by As Of + one month (2026-12-24), a date nobody set. Now the
    Watch List is held back, so no organization notice is drafted (it is drawn from it);
    the CE Leads' say "before the next review", and the packet's cover says why."""
    workbook = sample_copy(tmp_path)
    _set_cell(workbook, "Settings", "Next Review", "Value", "next month")
    why = "the Settings sheet's Next Review could not be read (see Problems)"
    folder = tmp_path / "drafts"
    capsys.readouterr()
    assert main(["notices", str(workbook), "--output", str(folder), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["not_drafted"] == {
        "organization": f"the Watch List sheet is held back because {why}"
    }
    assert report["counts"]["organizations"] == 0 and report["counts"]["regions"] > 0
    for draft in report["drafts"]:
        assert draft["subject"].endswith("please act before the next review"), draft
        assert "2026-12-24" not in Path(draft["path"]).read_text(encoding="utf-8")
    pdf = tmp_path / "performance.pdf"
    argv = ["packet", str(workbook), "--committee", "performance", "--output", str(pdf)]
    assert main([*argv, "--json"]) == 1
    packet = json.loads(capsys.readouterr().out)["packets"][0]
    assert packet["counts"]["watch_list"] is None and packet["counts"]["eligible"] == 21
    text = flat(" ".join(page_texts(pdf)))
    assert "Next Review could not be read (Settings sheet: Next Review" in text
    assert f"Held back: the Watch List sheet is held back because {why}" in text
    assert "2026-12-24" not in text


def test_licenses_added_from_hmis_by_appeal_are_in_the_total_s_arithmetic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """23 allotted and 2 more from HMIS by A-107: the summaries say +2, so that allotted,
    added, in use and available add up on paper."""
    workbook = sample_copy(tmp_path)
    for header, value in (
        ("Decision", "Approved"),
        ("Decided On", dt.datetime(2026, 11, 20)),
        ("Granted From", "Additional from HMIS"),
    ):
        _set_cell(workbook, "Appeals", "A-107", header, value)
    capsys.readouterr()
    assert main(["check", str(workbook), "--as-of", "2026-11-24"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("CE allotment"))
    assert "(target 20), +2 by appeal, " in line
    pdf = tmp_path / "ce.pdf"
    assert main(["packet", str(workbook), "--committee", "ce", "--output", str(pdf)]) == 0
    text = flat(" ".join(page_texts(pdf)))
    assert "(target 20), +2 by approved appeals" in text


def test_an_unusable_licenses_sheet_holds_back_the_inactivity_sections_and_notices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no Granted On column nothing can be judged: the packet must not say that no
    license is eligible (the Revocations sheet keeps last month's eligible licenses)."""
    workbook = sample_copy(tmp_path)
    _set_cell(workbook, "Licenses", None, "Granted On", "Granted")
    pdf = tmp_path / "performance.pdf"
    capsys.readouterr()
    argv = ["packet", str(workbook), "--committee", "performance", "--output", str(pdf)]
    assert main([*argv, "--json"]) == 1
    counts = json.loads(capsys.readouterr().out)["packets"][0]["counts"]
    assert counts["eligible"] is None and counts["watch_list"] is None
    text = flat(" ".join(page_texts(pdf)))
    assert "No license is eligible for revocation" not in text
    assert "No license was revoked since the last review" not in text
    assert "Held back: the Revocations sheet is held back" in text
    assert "ce_charges" not in text and "revocations_done" not in text, "sheet names, not keys"
    capsys.readouterr()
    assert main(["notices", str(workbook), "--output", str(tmp_path / "d"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["drafts"] == []
    assert set(report["not_drafted"]) == {"organization", "region"}


def test_an_error_that_holds_back_nothing_a_committee_reads_leaves_the_packet_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §3: an Error holds back only what it affects. A bad Self-Pay Requests row
    marks the packet NOT FINAL but every section is printed."""
    workbook = sample_copy(tmp_path)
    book = openpyxl.load_workbook(workbook)
    try:
        book["Self-Pay Requests"]["D2"] = 0
        book.save(workbook)
    finally:
        book.close()
    pdf = tmp_path / "performance.pdf"
    capsys.readouterr()
    argv = ["packet", str(workbook), "--committee", "performance", "--output", str(pdf)]
    assert main([*argv, "--json"]) == 1
    packet = json.loads(capsys.readouterr().out)["packets"][0]
    assert packet["final"] is False and packet["counts"]["eligible"] == 21
    text = flat(" ".join(page_texts(pdf)))
    assert "NOT FINAL" in text and "Held back" not in text
    assert "L-1003" in text


def test_a_license_added_since_the_last_review_and_eligible_now_is_newly_eligible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its Change Since Last Review says New license; the packet's "newly eligible" (not
    eligible at the previous review, eligible now) lists and counts it all the same."""
    workbook = sample_copy(tmp_path)
    assert main(["recalc", str(workbook), "--as-of", "2026-11-24"]) == 0
    book = openpyxl.load_workbook(workbook)
    try:
        sheet = book["Licenses"]
        headers = [c.value for c in sheet[1]]
        row = [None] * len(headers)
        for header, value in {
            "License ID": "L-7001",
            "User": "New User",
            "Organization": "Gasconade Valley Services",
            "License Type": "Housing Project",
            "Granted On": dt.datetime(2026, 11, 1),
        }.items():
            row[headers.index(header)] = value
        sheet.append(row)
        book.save(workbook)
    finally:
        book.close()
    assert main(["recalc", str(workbook), "--as-of", "2026-12-24"]) == 0
    pdf = tmp_path / "performance.pdf"
    capsys.readouterr()
    argv = ["packet", str(workbook), "--committee", "performance", "--as-of", "2026-12-24"]
    assert main([*argv, "--output", str(pdf), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["packets"][0]["counts"]
    text = flat(" ".join(page_texts(pdf)))
    newly = text.split("Newly eligible for revocation")[-1].split("All licenses eligible")[0]
    newly = newly.split("No longer eligible since the last review, and why")[0]
    assert "L-7001" in newly
    book = openpyxl.load_workbook(workbook, read_only=True)
    try:
        header, *rows = book["Revocations"].iter_rows(min_row=2, values_only=True)
    finally:
        book.close()
    change = header.index("Change Since Last Review")
    changes = Counter(r[change] for r in rows if r[0])
    assert {r[0]: r[change] for r in rows}["L-7001"] == "New license"
    assert changes["New license"] == 1
    assert counts["newly_eligible"] == changes["Newly eligible"] + 1


def test_a_packet_older_than_the_latest_review_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """recalc --as-of 2026-12-24, then packet without --as-of: the Settings sheet's As Of
    (2026-11-24) is used, as documented, and both the command and the cover say that the
    result sheets are of a later review."""
    workbook = sample_copy(tmp_path)
    assert main(["recalc", str(workbook), "--as-of", "2026-12-24"]) == 0
    pdf = tmp_path / "performance.pdf"
    capsys.readouterr()
    assert main(["packet", str(workbook), "--committee", "performance", "--output", str(pdf)]) == 0
    err = capsys.readouterr().err
    assert "Note: This packet is as of 2026-11-24 (the Settings sheet's As Of), but the" in err
    assert "run it with --as-of 2026-12-24" in err
    cover = flat(page_texts(pdf)[0])
    assert "the workbook's latest review is as of 2026-12-24 (Findings History)" in cover
    argv = ["packet", str(workbook), "--committee", "performance", "--as-of", "2026-12-24"]
    assert main([*argv, "--output", str(pdf)]) == 0
    assert "Note:" not in capsys.readouterr().err
    assert "latest review" not in flat(page_texts(pdf)[0])


def test_bad_arguments_and_unreadable_workbooks_write_nothing(tmp_path: Path) -> None:
    workbook = sample_copy(tmp_path)
    for output in ("packet.txt", "sample.xlsx", "missing-folder/p.pdf"):
        code = main(
            ["packet", str(workbook), "--committee", "ce", "--output", str(tmp_path / output)]
        )
        assert code == 2, output
    assert main(["packet", str(workbook), "--committee", "ce", "--policy", "no-such.yaml"]) == 2
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not a workbook")
    assert main(["packet", str(damaged), "--committee", "ce"]) == 2
    assert main(["notices", str(damaged), "--output", str(tmp_path / "drafts")]) == 2
    assert not list(tmp_path.glob("*.pdf")) and not (tmp_path / "drafts").exists()
    with pytest.raises(SystemExit) as exit_:
        main(["packet", str(workbook), "--committee", "board"])
    assert exit_.value.code == 2


def test_json_says_what_was_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workbook = sample_copy(tmp_path)
    capsys.readouterr()
    assert main(["packet", str(workbook), "--committee", "ce", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [packet] = report["packets"]
    assert Path(packet["path"]).is_file() and packet["final"] is True
    if os.name == "posix":  # readable by colleagues as any new file is (umask), not 0600
        mask = os.umask(0)
        os.umask(mask)
        assert Path(packet["path"]).stat().st_mode & 0o777 == 0o666 & ~mask
    assert packet["counts"]["regions"] == 10 and packet["counts"]["regions_over"] == 3
    assert packet["pages"] == len(page_texts(Path(packet["path"])))


def test_a_long_table_repeats_its_header_row_on_every_page(
    tmp_path: Path, sample_outcome: Outcome
) -> None:
    from workbook.review.packet import Section, Table, TableColumn

    packet = build_packet(sample_outcome, "performance", workbook_name="w.xlsx")
    columns = (TableColumn("Zeta Header", 0.2), TableColumn("Explanation", 0.8))
    rows = tuple((f"R-{n:04}", "A sentence that wraps. " * (n % 7 + 1)) for n in range(400))
    long = Section("A long list", ("Lead.", Table(columns, rows)))
    data, count = render(replace(packet, sections=(long,)))
    pages = page_texts(data)
    assert count == len(pages) > 5
    first = next(i for i, p in enumerate(pages) if "R-0000" in p)
    for page in pages[first:]:
        assert flat(page).count("Zeta Header") == 1, "the header row, once on each page"
    assert all(f"R-{n:04}" in " ".join(pages) for n in range(400))


def test_a_table_row_is_never_split_so_no_header_is_drawn_twice_on_a_page(
    sample_outcome: Outcome,
) -> None:
    """Split across a page end, a row's tail started the next page under a header of its
    own, and reportlab drew the header again lower on that page (the sample's watch list,
    page 6 of the Performance packet): a committee member saw a new, untitled table."""
    data, _ = render(build_packet(sample_outcome, "performance", workbook_name="w.xlsx"))
    for number, page in enumerate(page_texts(data), start=1):
        assert flat(page).count("Becomes Eligible On") <= 1, number
        assert flat(page).count("License ID") <= 1, number


def test_a_row_taller_than_a_page_still_renders(
    sample_outcome: Outcome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cells are bounded so that a row fits a page; were one still taller, the table is
    drawn again with rows that go on over the next page, not refused."""
    import workbook.review.pdf as pdf
    from workbook.review.packet import Section, Table, TableColumn

    monkeypatch.setattr(pdf, "_CELL_LINES", 10_000)  # no bound: a cell of a hundred lines
    packet = build_packet(sample_outcome, "performance", workbook_name="w.xlsx")
    columns = (TableColumn("ID", 0.2), TableColumn("Explanation", 0.8))
    tall = "A sentence that wraps onto more lines than a page has. " * 400
    rows = tuple((f"R-{n}", tall if n == 3 else "Short.") for n in range(1, 10))
    data, count = render(
        replace(packet, sections=(Section("Tall", ("Lead.", Table(columns, rows))),))
    )
    assert count == len(page_texts(data)) > 2


def test_long_names_wrap_and_huge_cells_are_bounded_never_shrunk(
    tmp_path: Path, sample_outcome: Outcome
) -> None:
    outcome = outcome_of(sample_copy(tmp_path))
    assert outcome.results is not None
    first = outcome.results.revocations[0]
    huge = "Organization " + "with a very long name " * 2000  # 44,000 characters
    decisions = tuple(
        replace(x, organization=huge, user="W" * 500) if x is first else x
        for x in outcome.results.decisions
    )
    outcome.results = replace(outcome.results, decisions=decisions)
    data, pages = render(build_packet(outcome, "performance", workbook_name="w.xlsx"))
    path = tmp_path / "huge.pdf"
    path.write_bytes(data)
    assert pages == len(page_texts(path)) < 20
    assert min(text_sizes(path)) >= 9
    assert "…" in " ".join(page_texts(path)), "the cut is marked"


# ------------------------------------------------------------------------ the notices


def test_notices_are_drafts_to_the_right_people_that_parse_back(tmp_path: Path) -> None:
    workbook = sample_copy(
        tmp_path,
        **{
            "Gasconade Valley Services": "x\r\nBcc: a@b",
            "Kirksville Community Shelter": "<b>Evil</b> & Co <script>alert(1)</script>",
            # No Contact Email for the renamed one: its draft says so.
            "hmis@gasconade-valley-services.example.org": None,
        },
    )
    set_contact(workbook, "Dunklin County Shelter", "intake@dunklin.example.org")
    before = workbook.read_bytes()
    folder = tmp_path / "drafts"
    assert main(["notices", str(workbook), "--output", str(folder)]) == 0
    assert workbook.read_bytes() == before
    files = sorted(folder.glob("*.eml"))
    # 25 organizations with licenses eligible or on the watch list, and 10 regions.
    assert len(files) == 25 + 10

    def parse(name: str) -> email.message.EmailMessage:
        message = email.message_from_bytes(
            (folder / name).read_bytes(), policy=email.policy.default
        )
        assert isinstance(message, email.message.EmailMessage)
        return message

    dunklin = parse("Dunklin County Shelter - HMIS licenses notice 2026-11-24.eml")
    assert dunklin["To"] == "intake@dunklin.example.org"
    assert dunklin["Subject"] == (
        "HMIS licenses of Dunklin County Shelter: 2 eligible for revocation; please act now"
    )
    assert dunklin["X-Unsent"] == "1", "Outlook opens it as a draft"
    assert dunklin.get_content_type() == "multipart/alternative"
    plain = dunklin.get_body(("plain",)).get_content()
    for expected in ("L-1005", "L-1006", "§1.1", "Addendum 1", "Performance Committee"):
        assert expected in plain
    assert "No recipient" not in plain

    injected = parse("x Bcc- a@b - HMIS licenses notice 2026-11-24.eml")
    assert injected["Bcc"] is None and injected["To"] is None
    assert set(injected.keys()) == {"Subject", "X-Unsent", "MIME-Version", "Content-Type"}
    assert injected["Subject"].startswith("HMIS licenses of x Bcc: a@b:")
    body = injected.get_body(("plain",)).get_content()
    assert "Dear x Bcc: a@b," in body, "the name stays in the body, as text"
    assert "No recipient: the Organizations sheet has no usable Contact Email" in body

    [evil] = [f for f in files if f.name.startswith("-b-Evil")]
    html = parse(evil.name).get_body(("html",)).get_content()
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Evil" not in html and "<script>" not in html

    region = parse("Region 2 - CE Lead notice 2026-11-24.eml")
    assert region["To"] == "region2.celead@example.org"
    region_text = region.get_body(("plain",)).get_content()
    for expected in ("Allotment: 2", "In use: 3", "Available: -1", "L-1027", "Addendum 1"):
        assert expected in region_text
    assert "Coordinated Entry Committee" in region_text
    request = parse("Region 5 - CE Lead notice 2026-11-24.eml").get_body(("plain",))
    assert "A-107" in request.get_content(), "the region's pending request"


def test_a_notice_asks_to_act_before_a_license_can_be_revoked(tmp_path: Path) -> None:
    """§1: the HMIS Lead Agency may revoke an inactive license immediately, so a notice
    never gives a month for a license revocable sooner. Eligible now: act now. On the
    watch list only: act before the first day one becomes eligible (Bolivar's L-1012,
    on 2026-11-25), the next review (2026-12-24) named beside it."""
    folder = tmp_path / "drafts"
    assert main(["notices", str(sample_copy(tmp_path)), "--output", str(folder)]) == 0
    subject, text = _notice(folder, "Bolivar Community Table")
    assert subject.endswith("1 to watch; please act before 2026-11-25")
    assert (
        "What you can do, before 2026-11-25, the first day a license listed above becomes"
        " eligible for revocation (the next review is on 2026-12-24):"
    ) in text
    subject, text = _notice(folder, "Dunklin County Shelter")
    assert subject.endswith("2 eligible for revocation; please act now")
    for draft in folder.iterdir():  # a subject folded after "Subject:" read back with a space
        message = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
        assert str(message["Subject"]) == str(message["Subject"]).strip(), draft.name
    assert (
        "What you can do, now: the HMIS Lead Agency may revoke a license eligible for"
        " revocation at any time (§1), and the next review is on 2026-12-24:"
    ) in text


def test_a_ce_lead_is_told_a_freed_license_waits_on_its_pending_appeal(tmp_path: Path) -> None:
    """Region 2 is over by one and L-1014, eligible under §1, would bring it within its
    allotment; with an appeal pending on L-1014 the CE Lead is told that an approval
    leaves the excess, so the removal candidates are next (before: "no other license
    needs to be removed", full stop)."""
    workbook = sample_copy(tmp_path)
    _add_appeal(
        workbook,
        **{
            "Appeal ID": "A-201",
            "Filed On": dt.datetime(2026, 11, 20),
            "Organization": "Kirksville Community Shelter",
            "License ID": "L-1014",
            "Reason": "Inactivity revocation",
            "Decision": "Pending",
        },
    )
    folder = tmp_path / "drafts"
    assert main(["notices", str(workbook), "--output", str(folder)]) == 0
    _, text = _notice(folder, "Region 2", kind="CE Lead")
    assert (
        "no other license needs to be removed unless the appeal pending on L-1014 is approved"
        " (Appeals Queue, §4): then the excess stays, and the removal candidates above are"
        " next, in rank order."
    ) in text
    folder = tmp_path / "plain"
    assert main(["notices", str(sample_copy(tmp_path, "other.xlsx")), "--output", str(folder)]) == 0
    _, text = _notice(folder, "Region 2", kind="CE Lead")
    assert "no other license needs to be removed." in text and "unless the appeal" not in text


def test_a_long_organization_name_is_cut_in_the_subject_never_the_action() -> None:
    from workbook.review.notices import _SUBJECT_LIMIT, _subject

    name = "The Extraordinarily Long-Named Émigré Ünïcode Services 🙂 " * 5
    subject = _subject("HMIS licenses of ", name, "1 eligible for revocation; please act now")
    assert len(subject) <= _SUBJECT_LIMIT
    assert subject.endswith("…: 1 eligible for revocation; please act now")
    short = _subject("HMIS licenses of ", "Solo", "1 to watch; please act before 2026-11-25")
    assert short == "HMIS licenses of Solo: 1 to watch; please act before 2026-11-25"


def test_a_license_tied_between_regions_is_in_both_ce_leads_notices(tmp_path: Path) -> None:
    """L-1032's organization has equal intakes in Region 5 and Region 6 (§3.2): charged to
    no region, it is in neither region's counts, and before, in neither CE Lead's notice
    (while the Reassignment agenda ranks it first for removal). Now both hear of it."""
    folder = tmp_path / "drafts"
    assert main(["notices", str(sample_copy(tmp_path)), "--output", str(folder)]) == 0
    for region in ("Region 5", "Region 6"):
        _, text = _notice(folder, region, kind="CE Lead")
        assert f"Charged to no region yet, {region} among the tied ones (1):" in text, region
        assert "L-1032, Ozark Youth Network: tie between Region 6 and Region 5" in text
        assert text.index("Charged to no region yet") < text.index("What you can do")
    _, other = _notice(folder, "Region 2", kind="CE Lead")
    assert "L-1032" not in other


def test_watch_list_licenses_get_a_notice_with_the_date_and_the_next_review(
    tmp_path: Path,
) -> None:
    outcome = with_review(outcome_of(sample_copy(tmp_path)))
    notices = {n.name: n for n in organization_notices(outcome)}
    notice = notices["Dunklin County Shelter"]
    assert notice.subject.endswith("2 eligible for revocation, 1 to watch; please act now")
    text = notice.message.get_body(("plain",)).get_content()
    assert "L-9001, Pat Example: on 2026-12-02 (§1.1 no client data)" in text
    assert "The next review is on 2026-12-24." in text
    assert "Will become eligible for revocation by 2026-12-24 if nothing changes (1):" in text
    assert "by by" not in text


def test_a_notice_for_an_organization_only_on_the_watch_list(tmp_path: Path) -> None:
    outcome = with_review(outcome_of(sample_copy(tmp_path)))
    assert outcome.results is not None
    outcome.results = replace(
        outcome.results,
        watch_list=(replace(outcome.results.watch_list[0], organization="Watched Org"),),
    )
    outcome.inputs = replace(
        outcome.inputs,
        organizations=(
            *outcome.inputs.organizations,
            OrganizationRow("Watched Org", contact_email="Ann <ann@watched.example>; bad@"),
        ),
    )
    saved = {n.name: (n, p) for n, p in write_notices(outcome, tmp_path)}
    notice, path = saved["Watched Org"]
    assert notice.to == ("ann@watched.example",)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ann@watched.example"
    assert (
        "1 to watch" in message["Subject"] and "eligible for revocation" not in message["Subject"]
    )


@pytest.mark.parametrize(
    ("cell", "kept", "refused"),
    [
        ("a@b.org", ("a@b.org",), ""),
        ("A Person <a@b.org>, c@d.org", ("a@b.org", "c@d.org"), ""),
        ("a@b.org\r\nBcc: evil@x.org", (), "is not an e-mail address"),
        ("not an address", (), "is not an e-mail address"),
        ("", (), "none is recorded"),
        (None, (), "none is recorded"),
    ],
)
def test_only_plain_addresses_become_recipients(
    cell: str | None, kept: tuple[str, ...], refused: str
) -> None:
    addresses, problem = recipients(cell)
    assert addresses == kept
    assert (refused in problem) if refused else problem == ""


@settings(max_examples=150, deadline=None)
@given(name=st.text(min_size=1, max_size=80), address=st.text(max_size=60))
def test_no_workbook_text_can_add_a_header_or_markup(name: str, address: str) -> None:
    """Any organization name and Contact Email: the draft parses back with only our
    headers, the name is one line in the subject, and nothing of it is markup."""
    from workbook.review.notices import Paragraph, draft_message

    addresses, _ = recipients(address)
    subject = one_line(f"HMIS licenses of {name}")
    message = draft_message(addresses, subject, "", [Paragraph(f"Dear {name},")])
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    expected = {"Subject", "X-Unsent", "MIME-Version", "Content-Type"} | (
        {"To"} if addresses else set()
    )
    assert set(parsed.keys()) == expected
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])
    html = parsed.get_body(("html",)).get_content()
    body = html.split("<body", 1)[1]
    assert "<" not in re.sub(r"</?(p|ul|li|em|br)>|<body[^>]*>|</body></html>\s*$", "", body)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(st.text(max_size=200), min_size=1, max_size=5))
@example(names=["社区住房援助中心" * 9 + " - HMIS licenses notice 2026-11-24"] * 2)
@example(names=["é" * 200])
def test_file_names_are_safe_and_unique_on_every_system(names: list[str]) -> None:
    taken: set[str] = set()
    made = [safe_file_name(n, ".eml", taken) for n in names]
    assert len({m.casefold() for m in made}) == len(made)
    for name in made:
        assert not re.search(r'[<>:"/\\|?*\x00-\x1f]', name)
        stem = name.removesuffix(".eml")
        assert stem and stem == stem.rstrip(" .") and len(stem) <= 130
        assert len(name.encode("utf-8")) <= 255, "Linux holds 255 bytes a name"
        assert stem.split(".")[0].casefold() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}


# ----------------------------------------------------------------------------- Excel


def test_the_packet_button_writes_both_packets_from_the_open_book(tmp_path: Path) -> None:
    """On xlwings' remote engine, with the sample as Excel would send it."""
    import xlwings as xw

    import hmis_licensing
    from tests.xlwings_bridge import payload_from_xlsx

    book = xw.Book(json=payload_from_xlsx(SAMPLE))
    outcome, written = hmis_licensing.book_packets(
        book, str(tmp_path / "Shared Book.xlsx"), today=AS_OF, now=dt.datetime(2026, 11, 24)
    )
    assert [w.path.name for w in written] == [
        "Shared Book - Performance Committee packet 2026-11-24.pdf",
        "Shared Book - Coordinated Entry Committee packet 2026-11-24.pdf",
    ]
    assert book.json()["actions"] == [], "nothing is written into the workbook"
    by_command = tmp_path / "cli.pdf"
    assert (
        main(["packet", str(SAMPLE), "--committee", "performance", "--output", str(by_command)])
        == 0
    )
    # The same pages as the command's, but for the workbook's name on the cover.
    button_text = page_texts(written[0].path)
    command_text = page_texts(by_command)
    assert [p.replace("Shared Book.xlsx", SAMPLE.name) for p in button_text] == command_text
    message = hmis_licensing.packet_summary(outcome, written)
    assert "As of 2026-11-24" in message and re.search(r"\(\d+ pages\)", message)


def test_the_packet_button_says_it_needs_desktop_excel_where_there_is_no_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import xlwings as xw

    import hmis_licensing
    from tests.xlwings_bridge import ALERTS, apply_actions, payload_from_xlsx

    book = xw.Book(json=payload_from_xlsx(SAMPLE))  # a remote book knows only its name
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: book))
    hmis_licensing.packet()
    copy = openpyxl.load_workbook(SAMPLE)
    try:
        ALERTS.clear()
        applied = apply_actions(copy, book.json()["actions"])
    finally:
        copy.close()
    assert applied == ["alert"]
    [(title, message)] = ALERTS
    assert title == "HMIS Licensing"
    assert message.startswith("No packet was written.") and "desktop Excel" in message


def test_the_ribbon_s_packet_button_calls_packet() -> None:
    from xml.etree import ElementTree

    from workbook.excel.addin.build_addin import custom_ui

    ui = ElementTree.fromstring(custom_ui())
    namespace = "{http://schemas.microsoft.com/office/2006/01/customui}"
    [button] = [b for b in ui.iter(f"{namespace}button") if b.get("label") == "Packet"]
    assert button.get("onAction") == "RibbonMyAddin.RunPacket"
    assert "Desktop Excel only" in (button.get("supertip") or "")
    import hmis_licensing

    assert callable(hmis_licensing.packet)


def test_the_sample_packet_is_the_same_for_the_same_inputs(tmp_path: Path) -> None:
    """Two runs, same workbook and date: the same text (a packet is a record)."""
    first, second = tmp_path / "1.pdf", tmp_path / "2.pdf"
    for path in (first, second):
        assert main(["packet", str(SAMPLE), "--committee", "ce", "--output", str(path)]) == 0
    assert page_texts(first) == page_texts(second)
    assert hashlib.sha256(first.read_bytes()).hexdigest()  # written whole


def test_inputs_travel_with_the_outcome_for_the_notices(sample_outcome: Outcome) -> None:
    assert isinstance(sample_outcome.inputs, Inputs)
    assert len(sample_outcome.inputs.regions) == 10


def test_every_output_counts_the_licenses_judged_alike(sample_outcome: Outcome) -> None:
    """The Excel message, recalc's summary and the packet all count active licenses
    judged (140 on the sample), not every row of the report (164)."""
    from workbook.excel.book import summary

    assert sample_outcome.results is not None
    assert sample_outcome.results.licenses_judged == 140
    assert len(sample_outcome.results.decisions) == 164
    assert "140 active licenses judged; 21 eligible for revocation." in summary(sample_outcome)


def test_a_watch_item_one_day_away_says_one_day(sample_outcome: Outcome) -> None:
    assert sample_outcome.results is not None
    watch = sample_outcome.results.watch_list
    soon = [w for w in watch if w.days_left == 1]
    assert [w.license_id for w in soon] == ["L-1012"]  # lapses on 2026-11-25
    assert "(1 day after 2026-11-24)" in soon[0].explanation
    assert not any(re.search(r"\(1 days", w.explanation) for w in watch)


# ------------------------------------------------- the CE packet's revocations and agenda


def _ce_workbook(path: Path, **changes: dict[str, object]) -> Path:
    """Region 1's CE licenses: Org A's only license (kept), Org B's inactive one (eligible
    for revocation; Org B keeps its Housing Project license). `changes` edits a row by
    License ID."""
    rows: list[dict[str, object]] = [
        {
            "License ID": "L-1",
            "User": "Ann",
            "Organization": "Org A",
            "License Type": "CE Access Only",
            "Region": "Region 1",
            "Granted On": d("2024-01-01"),
            "First Sign-In": d("2024-01-02"),
            "Last Client Data Entry": d("2026-11-01"),
            "Client Entries (Window)": 40,
        },
        {
            "License ID": "L-2",
            "User": "Bob",
            "Organization": "Org B",
            "License Type": "CE Access Only",
            "Region": "Region 1",
            "Granted On": d("2024-01-01"),
            "First Sign-In": d("2024-01-02"),
            "Last Client Data Entry": d("2025-01-01"),
            "Client Entries (Window)": 0,
        },
        {
            "License ID": "L-3",
            "User": "Cy",
            "Organization": "Org B",
            "License Type": "Housing Project",
            "Granted On": d("2024-01-01"),
            "First Sign-In": d("2024-01-02"),
            "Last Client Data Entry": d("2026-11-01"),
        },
    ]
    for row in rows:
        row.update(changes.get(str(row["License ID"]).replace("-", "_"), {}))
    return write_workbook(path, minimal_sheets(rows, organizations=("Org A", "Org B")))


def _section(pdf: Path, title: str, next_title: str | None = None) -> str:
    text = flat(" ".join(page_texts(pdf)))
    start = text.rindex(title)  # the section, not the table of contents or the summary
    end = text.index(next_title, start) if next_title else len(text)
    return text[start:end]


def test_the_ce_packet_lists_a_ce_license_revoked_for_inactivity(tmp_path: Path) -> None:
    """L-1160 (CE Access Only) was revoked by the HMIS Lead for Inactivity §1.1: it left
    Region 8's In Use, so the CE Committee sees it, as the Performance Committee does."""
    pdf = tmp_path / "ce.pdf"
    assert main(["packet", str(SAMPLE), "--committee", "ce", "--output", str(pdf)]) == 0
    section = _section(pdf, "CE licenses revoked since the last review")
    assert "L-1160" in section and "Inactivity §1.1" in section
    assert "L-1161" not in section, "a Housing Project license is not the CE Committee's"
    assert "No license was revoked" not in section


def test_the_ce_packet_never_says_no_license_was_revoked_when_one_was(tmp_path: Path) -> None:
    """Only a Housing Project license revoked: the CE section is empty and says which
    licenses it is about, and where the other one is."""
    workbook = _ce_workbook(
        tmp_path / "book.xlsx",
        L_3={
            "Revoked On": d("2026-11-10"),
            "Revoked By": "HMIS Lead",
            "Revocation Reason": "Other",
        },
    )
    ce, performance = tmp_path / "ce.pdf", tmp_path / "performance.pdf"
    for committee, pdf in (("ce", ce), ("performance", performance)):
        assert main(["packet", str(workbook), "--committee", committee, "--output", str(pdf)]) == 0
    section = _section(ce, "CE licenses revoked since the last review")
    assert "No license was revoked" not in section
    assert (
        "No CE Access Only license (nor any license for the CE allotment) was revoked since"
        " the last review. 1 other license was: see the Performance Committee packet's"
        ' "Revoked since the last review".'
    ) in section
    assert "L-3" in _section(performance, "Revoked since the last review", "Inactivity appeals")


def test_a_ce_license_type_is_matched_as_the_engine_matches_it(tmp_path: Path) -> None:
    """A license type typed in another case is still the CE type (the engine charges it)."""
    workbook = _ce_workbook(
        tmp_path / "book.xlsx",
        L_2={
            "License Type": "ce access ONLY",
            "Revoked On": d("2026-11-10"),
            "Revoked By": "HMIS Lead",
            "Revocation Reason": "Not signed in §1.2",
        },
    )
    pdf = tmp_path / "ce.pdf"
    assert main(["packet", str(workbook), "--committee", "ce", "--output", str(pdf)]) == 0
    section = _section(pdf, "CE licenses revoked since the last review")
    assert "L-2" in section and "No CE Access Only license" not in section


def test_an_agenda_without_removal_candidates_says_what_is_empty(tmp_path: Path) -> None:
    """In Use 2 (L-1 kept, L-2 eligible for revocation): the empty candidates table must
    not say that no CE license is active."""
    pdf = tmp_path / "ce.pdf"
    workbook = _ce_workbook(tmp_path / "book.xlsx")
    assert main(["packet", str(workbook), "--committee", "ce", "--output", str(pdf)]) == 0
    assert "In use 2" in flat(page_texts(pdf)[0])
    agenda = _section(pdf, "Reassignment agenda", "CE licenses revoked")
    assert "is active" not in agenda
    assert (
        "No CE Access Only license is a removal candidate. Of the active ones, 1 is kept as"
        " an organization's last license (§4) and 1 is already eligible for revocation under"
        " §1 (on the Revocations sheet); they are listed below."
    ) in agenda
    assert "Kept: last license" in agenda and "Eligible for revocation" in agenda


def test_an_agenda_with_no_ce_license_says_none_is_active(tmp_path: Path) -> None:
    pdf = tmp_path / "ce.pdf"
    workbook = _ce_workbook(
        tmp_path / "book.xlsx",
        L_1={"License Type": "Housing Project"},
        L_2={"License Type": "Housing Project"},
    )
    assert main(["packet", str(workbook), "--committee", "ce", "--output", str(pdf)]) == 0
    agenda = _section(pdf, "Reassignment agenda", "CE licenses revoked")
    assert "No CE Access Only license is active, so none is a removal candidate." in agenda


# ------------------------------------------------------------ exceptions due for re-review


def _re_review_copy(folder: Path) -> Path:
    """The sample with two open-ended special requests decided more than six months ago:
    A-101 for L-1007 (Columbia Interfaith Shelter, which also has L-1087 eligible) and
    A-102 for every license of Rolla Mission."""
    workbook = sample_copy(folder)
    _set_cell(workbook, "Appeals", "A-101", "Exception Until", None)
    for appeal, filed, decided in (("A-101", 2, 1), ("A-102", 3, 2)):
        _set_cell(workbook, "Appeals", appeal, "Filed On", dt.datetime(2026, filed, 1))
        _set_cell(workbook, "Appeals", appeal, "Decided On", dt.datetime(2026, decided + 1, 1))
    return workbook


def _notice(folder: Path, organization: str, kind: str = "HMIS licenses") -> tuple[str, str]:
    path = folder / f"{organization} - {kind} notice 2026-11-24.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None
    return str(message["Subject"]), flat(body.get_content())


def test_an_exception_due_for_re_review_is_not_said_to_become_eligible(tmp_path: Path) -> None:
    workbook = _re_review_copy(tmp_path)
    assert main(["recalc", str(workbook), "--as-of", "2026-11-24"]) == 0
    sheet = {str(r["License ID"] or ""): r for r in sheet_dicts(workbook, "Watch List")}
    assert sheet["L-1007"]["Rule"] == "§1.E3 re-review"
    assert sheet[""]["Organization"] == "Rolla Mission"  # every license of it
    folder = tmp_path / "drafts"
    assert main(["notices", str(workbook), "--output", str(folder)]) == 0

    subject, text = _notice(folder, "Columbia Interfaith Shelter")
    assert subject == (
        "HMIS licenses of Columbia Interfaith Shelter: 1 eligible for revocation,"
        " 1 exception due for re-review; please act now"
    )
    assert "Will become eligible" not in text and "to watch" not in subject
    assert (
        "Exceptions the Performance Committee is due to review again (1): - L-1007, Noel"
        " Brooks: special request A-101 approved on 2026-02-01, with no end date (Exception"
        " Until), has been due for re-review since 2026-08-01"
    ) in text
    assert "nothing needs to be filed to keep it" in text

    subject, text = _notice(folder, "Rolla Mission")
    assert subject == "HMIS licenses of Rolla Mission: 1 exception due for re-review"
    assert "- Every license of Rolla Mission: special request A-102 approved on 2026-03-01" in text
    assert ", :" not in text
    assert "file an appeal" not in text and "signs in to HMIS" not in text, "nothing to lose"

    pdf = tmp_path / "performance.pdf"
    assert main(["packet", str(workbook), "--committee", "performance", "--output", str(pdf)]) == 0
    summary = flat(page_texts(pdf)[0])
    coming = sum(r["Rule"] != "§1.E3 re-review" for r in sheet.values())
    assert f"On the watch list: eligible by Next Review if nothing changes {coming}" in summary
    assert "On the watch list: exceptions due for re-review (§1.E3) 2" in summary
    watch = _section(pdf, "Watch list", "Exceptions due for re-review (the Watch List")
    again = _section(pdf, "Exceptions due for re-review (the Watch List", "Kept by an exception")
    assert "L-1007" not in watch and watch.count("§1.E3 re-review") == 1, "only in the lead"
    assert "L-1007" in again and "every license Rolla Mission" in again


# ----------------------------------------------------------------- appeals already pending


def _add_appeal(path: Path, **values: object) -> None:
    book = openpyxl.load_workbook(path)
    try:
        sheet = book["Appeals"]
        header = [c.value for c in sheet[1]]
        sheet.append([values.get(str(h)) for h in header])
        book.save(path)
    finally:
        book.close()


def test_a_notice_does_not_advise_an_appeal_already_pending(tmp_path: Path) -> None:
    """Sedalia Hope House's only eligible license, L-1011, has special request A-104
    pending before the Performance Committee (the sample's Appeals Queue)."""
    folder = tmp_path / "drafts"
    assert main(["notices", str(sample_copy(tmp_path)), "--output", str(folder)]) == 0
    _, text = _notice(folder, "Sedalia Hope House")
    assert (
        "Special request A-104 is pending before the Performance Committee (filed on"
        " 2026-10-01; response due by 2026-12-05): no new appeal is needed for this license"
        " (§4)."
    ) in text
    assert "file an appeal" not in text and "Addendum 1" not in text
    assert "No new appeal is needed for L-1011: its appeal is pending" in text


def test_a_notice_asks_for_the_date_of_an_approval_recorded_without_one(tmp_path: Path) -> None:
    """West Plains Neighbors' L-1123 is eligible; special request A-402 for it is recorded
    as Approved with Decided On blank, so it exempts nothing yet (§1.E3, a Warning names
    the cell). What is missing is the date, not an appeal: the notice says so, and does
    not tell the organization to file one again."""
    workbook = sample_copy(tmp_path)
    _add_appeal(
        workbook,
        **{
            "Appeal ID": "A-402",
            "Filed On": dt.datetime(2026, 10, 1),
            "Organization": "West Plains Neighbors",
            "License ID": "L-1123",
            "Reason": "Special request",
            "Decision": "Approved",
        },
    )
    folder = tmp_path / "drafts"
    assert main(["notices", str(workbook), "--output", str(folder)]) == 0
    _, text = _notice(folder, "West Plains Neighbors")
    assert (
        "Special request A-402 is recorded as approved but without its Decided On date: the"
        " HMIS Lead enters the date of the decision, and no new appeal is needed (§1.E3)."
    ) in text
    assert "No new appeal is needed for L-1123: the special request approved for it" in text
    # L-1124 (on the watch list) has neither: the appeal advice is for it alone.
    assert "For any other license: if your organization needs to keep a license" in text


def test_an_organization_wide_request_covers_its_licenses_and_a_license_one_only_it(
    tmp_path: Path,
) -> None:
    """Dunklin County Shelter has L-1005 and L-1006 eligible. An appeal for L-1005 covers
    it alone; a pending request for every license of the organization covers both; a
    request of the CE Committee for a region's allotment covers neither."""
    workbook = sample_copy(tmp_path)
    _add_appeal(
        workbook,
        **{
            "Appeal ID": "A-201",
            "Filed On": dt.datetime(2026, 11, 20),
            "Organization": "Dunklin County Shelter",
            "License ID": "L-1005",
            "Reason": "Inactivity revocation",
            "Decision": "Pending",
        },
    )
    _add_appeal(
        workbook,
        **{
            "Appeal ID": "A-202",
            "Filed On": dt.datetime(2026, 11, 21),
            "Organization": "Dunklin County Shelter",
            "Region": "Region 9",
            "Reason": "Additional allotment request",
            "Licenses Requested": 1,
            "Decision": "Pending",
        },
    )
    folder = tmp_path / "drafts"
    assert main(["notices", str(workbook), "--output", str(folder)]) == 0
    _, text = _notice(folder, "Dunklin County Shelter")
    assert "Inactivity revocation A-201 is pending before the Performance Committee" in text
    assert "A-202" not in text, "a region's allotment request does not keep a license"
    assert text.count("no new appeal is needed for this license") == 1  # L-1005's line
    assert "For a license without a pending appeal: if your organization needs" in text
    assert "No new appeal is needed for L-1005: its appeal is pending" in text

    _add_appeal(
        workbook,
        **{
            "Appeal ID": "A-203",
            "Filed On": dt.datetime(2026, 11, 22),
            "Organization": "dunklin county shelter",
            "Reason": "Special request",
            "Decision": "Pending",
        },
    )
    again = tmp_path / "again"
    assert main(["notices", str(workbook), "--output", str(again)]) == 0
    _, text = _notice(again, "Dunklin County Shelter")
    assert text.count("Special request A-203 for every license of Dunklin County Shelter") == 2
    assert "file an appeal" not in text
    assert "No new appeal is needed for L-1005, L-1006: their appeals are pending" in text


# ------------------------------------------------------------ the CE Leads' notices


def _region_plain(outcome: Outcome, region: str) -> str:
    [notice] = [n for n in region_notices(outcome) if n.name == region]
    body = notice.message.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split())


def test_a_ce_lead_is_told_first_of_the_region_s_licenses_being_revoked_under_section_1(
    sample_outcome: Outcome,
) -> None:
    """Region 2 is over by 1, and L-1014 (never signed in, on the Revocations sheet) is one
    of its 3 in use: its revocation frees the excess, so the notice must not send the CE Lead
    to remove L-1027 (122 client entries) while the unused one stays."""
    text = _region_plain(sample_outcome, "Region 2")
    assert (
        "Available: -1 (over the allotment by 1; L-1014, eligible for revocation under §1, is"
        " among those in use, and revoking it brings Region 2 within its allotment)" in text
    )
    listed = text.index("CE licenses in Region 2 eligible for revocation under §1 (1):")
    assert (
        listed
        < text.index("L-1014, Kirksville Community Shelter")
        < text.index("Removal candidates in Region 2")
    )
    assert (
        "Remove Region 2's excess of 1 (§3), the licenses eligible for revocation under §1"
        " first: once the HMIS Lead Agency revokes L-1014 (Revocations sheet, §1), it frees 1"
        " license, which brings Region 2 within its allotment: no other license needs to be"
        " removed." in text
    )
    assert "Revoke and reassign licenses as needed" not in text
    assert "Designate Region 2's available licenses" not in text
    # A region without one says nothing of it.
    assert "eligible for revocation under §1 (" not in _region_plain(sample_outcome, "Region 9")


def test_a_ce_lead_s_actions_follow_the_region_s_available_licenses(
    sample_outcome: Outcome,
) -> None:
    """Positive: designate them; zero: none to designate, and a request of the region's own
    waits for the CE Committee; negative: remove the excess, in rank order. Never "revoke
    and reassign as needed" beside the region's overdue request for more (A-107)."""
    five = _region_plain(sample_outcome, "Region 5")
    assert "Available: 0 " in five
    assert (
        "None to designate: Region 5 has no license available, and none needs to be removed"
        " (§3)." in five
    )
    assert "A-107 waits for the Coordinated Entry Committee" in five
    assert "No new request is needed for what A-107 already asks." in five
    ten = _region_plain(sample_outcome, "Region 10")
    assert "Designate Region 10's 1 available license to organizations in the region" in ten
    nine = _region_plain(sample_outcome, "Region 9")
    assert (
        "Remove Region 9's excess of 1 license (§3): the removal candidates above, in rank"
        " order, and record Revoked On, Revoked By (CE Lead) and Revocation Reason (CE"
        " allotment §3) on the Licenses sheet." in nine
    )
    for region in (r.region for r in sample_outcome.inputs.regions):
        text = _region_plain(sample_outcome, region)
        assert "as needed" not in text, region
        assert ("Designate " in text) == ("None to designate" not in text and "Remove " not in text)
    # The counts read as words: a blank count is said, one entry is one entry.
    six = _region_plain(sample_outcome, "Region 6")
    assert "L-1039, West Plains Neighbors (client entries in the window not counted)" in six
    assert "no count" not in six
    assert "L-1012, Bolivar Community Table (1 client entry in the window)" in (
        _region_plain(sample_outcome, "Region 3")
    )


def test_no_output_calls_a_removal_candidate_a_license_that_stays(
    sample_outcome: Outcome,
) -> None:
    """L-1032 ranks first for removal; Region 6's notice counted it among Howell County's
    "licenses that stay". The counts are of licenses not eligible for revocation (§4), and
    a candidate charged to no region says why in its Reasons (a tie: decided first, §3.2)."""
    results = sample_outcome.results
    assert results is not None
    [first] = [i for i in results.reassignment if i.rank == 1]
    assert first.license_id == "L-1032" and first.region is None
    assert "Tie in average intakes between Region 6 and Region 5" in first.reasons
    assert "its region is decided first (§3.2)" in first.reasons
    for item in results.reassignment:
        assert "that stay" not in item.reasons, item
        if item.rank:  # "keeps" belongs to what §1.E1 keeps, never to a candidate's count
            assert " keeps " not in item.reasons, item
    six = _region_plain(sample_outcome, "Region 6")
    assert "Howell County has 7 other active licenses not eligible for revocation (L-1032" in six
    for region in (r.region for r in sample_outcome.inputs.regions):
        assert "that stay" not in _region_plain(sample_outcome, region), region
    # L-1004 (Region 9): kept, a Level 4 List Holder, and not called "best-used" with 0.
    [kept] = [i for i in results.reassignment if i.license_id == "L-1004"]
    assert "Level 4 List Holder (§1.E2)" in kept.reasons and "best-used" not in kept.reasons


def _decide_appeal(path: Path, appeal_id: str, **values: object) -> None:
    book = openpyxl.load_workbook(path)
    try:
        sheet = book["Appeals"]
        header = [c.value for c in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            if row[0].value == appeal_id:
                for column, value in values.items():
                    row[header.index(column)].value = value
        book.save(path)
    finally:
        book.close()


def test_an_approved_ce_appeal_tells_the_ce_lead_and_the_packet_who_the_license_is_for(
    tmp_path: Path,
) -> None:
    """§4: A-106 (Henry County Housing Connection, Region 3, 1 license) approved on
    2026-11-20, reassigned from Region 10: Region 3's one available license is the
    committee's grant to a named organization, not a free slot, in the CE Lead's notice,
    the agenda and the CE packet alike."""
    path = sample_copy(tmp_path)
    _decide_appeal(
        path,
        "A-106",
        Decision="Approved",
        **{"Decided On": dt.datetime(2026, 11, 20), "Granted From": "Reassigned from Region 10"},
    )
    outcome = outcome_of(path)
    assert outcome.results is not None
    words = (
        "1 granted to Henry County Housing Connection by appeal A-106 on 2026-11-20: issue it"
        " to them (§4); none left to designate or reassign"
    )
    text = _region_plain(outcome, "Region 3")
    assert f"Available: 1, of which {words}" in text
    assert (
        "Issue the Coordinated Entry Committee's grants by appeal before designating any other"
        " license (§4): 1 license to Henry County Housing Connection (appeal A-106, approved"
        " 2026-11-20)." in text
    )
    assert "Designate Region 3's 1 available license" not in text
    assert "None other to designate: Region 3's available licenses go to the grants above" in text
    [row] = [
        i
        for i in outcome.results.reassignment
        if i.item == "Licenses available" and i.region == "Region 3"
    ]
    assert row.reasons == (
        "Region 3: allotment 2 (+1 by appeal), 2 in use, so 1 license available, of which"
        f" {words}. §4"
    )
    data, _ = render(build_packet(outcome, "ce", workbook_name="w.xlsx"))
    packet = flat(" ".join(page_texts(data)))
    assert (
        "Region 3 2 in use against an allotment of 3 (2 by §2, +1 by appeal): 1 available, of"
        f" which {words}." in packet
    )
    # Region 10 gave the license: its notice names no grant.
    assert "A-106" not in _region_plain(outcome, "Region 10").split("What you can do")[1]
