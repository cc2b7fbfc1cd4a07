"""`hmis-licensing import-activity`: from a HUD HMIS CSV export to two Licenses columns.

Exports are generated here (tests/hmis_exports.py); the real sample exports in
../shared/data/hmis-csv/ are read when that folder exists.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, minimal_sheets, write_workbook
from tests.hmis_exports import (
    PRIVATE_MARKERS,
    export_files,
    row,
    write_folder,
    write_zip,
)
from tests.ooxml_check import check_package
from workbook.cli import main
from workbook.errors import UsageError
from workbook.hmis.export import Progress, Skip, read_date, row_activity, shown_example
from workbook.hmis.reader import fast_reader_available, read_export_activity
from workbook.xlsx.cells import set_number_cells, sheet_rows
from workbook.xlsx.write import sheet_part_names

AS_OF = dt.date(2026, 11, 24)
WINDOW = dt.date(2026, 5, 24)  # six months before, as the adopted policy says
READERS = [
    "csv",
    pytest.param(
        "pyarrow",
        marks=pytest.mark.skipif(
            not fast_reader_available(), reason="pyarrow is not installed (the [fast] extra)"
        ),
    ),
]
SHARED = REPO.parent / "shared" / "data" / "hmis-csv"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def activity_of(export: Path, reader: str = "csv", as_of=AS_OF, window=WINDOW):
    return read_export_activity(export, as_of, window, reader=reader)


def users_of(activity) -> dict[str, tuple[int, str | None, int]]:
    return {u.user_id: (u.rows, u.latest, u.window_rows) for u in activity.users.values()}


# ------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-02", "2026-11-02"),
        ("2026-11-02 14:05:09", "2026-11-02"),
        ("2026-11-02T14:05", "2026-11-02"),
        ("2026-11-02 14", "2026-11-02"),
        ("2026-11-02 14:05:09.123", "2026-11-02"),
        ("11-02-2026", "2026-11-02"),
        ("11/02/2026", "2026-11-02"),
        ("9/10/2015 21:39:00", "2015-09-10"),
        ("9-10-2015 21:39", "2015-09-10"),
        ("11/02/2026 2:05 PM", "2026-11-02"),
        (" 2026-11-02 ", "2026-11-02"),
        ("2024-02-29", "2024-02-29"),
    ],
)
def test_accepted_date_formats(text: str, day: str) -> None:
    assert read_date(text) == day


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("7/14/16 09:59:00", Skip.TWO_DIGIT_YEAR),
        ("04-28-19 05:17:00", Skip.TWO_DIGIT_YEAR),
        ("26-11-02", Skip.TWO_DIGIT_YEAR),
        ("31/12/2024", Skip.DAY_FIRST),
        ("13-01-2026 10:00:00", Skip.DAY_FIRST),
        ("31.12.2024", Skip.DAY_FIRST),
        ("2023-02-29", Skip.NO_SUCH_DAY),
        ("02/30/2024", Skip.NO_SUCH_DAY),
        ("2026-11-02 25:00:00", Skip.NOT_A_DATE),
        ("2026/11/02", Skip.NOT_A_DATE),
        ("08-MAY-67", Skip.NOT_A_DATE),
        ("3", Skip.NOT_A_DATE),
        ("b6585c2320f69a2b920adb507cc9d82f", Skip.NOT_A_DATE),
        ("0000-01-01", Skip.NO_SUCH_DAY),
    ],
)
def test_other_dates_are_never_guessed(text: str, reason: Skip) -> None:
    assert read_date(text) is reason


@pytest.mark.parametrize("blank", ["", "   ", "NULL", "null"])
def test_blank_dates_are_blank(blank: str) -> None:
    assert read_date(blank) is None


def test_ambiguous_month_first_dates_are_read_month_first() -> None:
    """mm/dd/yyyy is the accepted order; 03/04/2026 is 4 March, as the spec's US order says."""
    assert read_date("03/04/2026") == "2026-03-04"


@given(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), st.times())
def test_every_accepted_spelling_of_a_day_reads_back_to_it(day: dt.date, time: dt.time) -> None:
    iso = day.isoformat()
    assert read_date(iso) == iso
    assert read_date(f"{iso} {time:%H:%M:%S}") == iso
    assert read_date(f"{day:%m/%d/%Y} {time:%I:%M %p}") == iso
    assert read_date(f"{day.month}-{day.day}-{day.year} {time:%H:%M}") == iso


def test_a_row_counts_its_latest_date_on_or_before_as_of() -> None:
    assert row_activity(("2026-01-01", "2026-06-01", None), "2026-11-24") == "2026-06-01"
    assert row_activity(("2026-06-01", "2026-12-05", None), "2026-11-24") == "2026-06-01"
    assert row_activity(("2026-12-01", "2026-12-05", None), "2026-11-24") is None
    assert row_activity(("2026-01-01", "2026-01-01", "2026-10-01"), "2026-11-24") == "2026-10-01"


@pytest.mark.parametrize(
    "value", ["Xanthopoulos", "123-45-6789", "987650123", "May", "John Smith 1911"]
)
def test_skipped_values_are_shown_only_when_shaped_like_a_date(value: str) -> None:
    assert value not in shown_example(value)
    assert "not shown" in shown_example(value)


def test_date_shaped_examples_are_shown() -> None:
    assert shown_example("7/14/16 09:59:00") == "7/14/16 09:59:00"
    assert shown_example("31/12/2024") == "31/12/2024"


# ------------------------------------------------------------------- aggregation


def basic_export(tmp_path: Path, **options) -> Path:
    files = export_files(
        {
            "Client": [
                row("4101", "2026-01-05 09:00:00", "2026-03-02 10:00:00"),
                row("4102", "2025-01-01 08:00:00", "2025-02-01 08:00:00", "2026-10-01 12:00:00"),
            ],
            "Services": [
                row("4101", "2026-06-01 09:00:00"),
                row("4101", "2026-06-01 09:00:00", "2026-12-05 09:00:00"),  # updated after
                row("4101", "2026-12-01 10:00:00"),  # only after the as-of date
                row("4103", "2024-02-02 02:02:02"),
                row("7777", "2026-11-24 23:59:59"),  # on the as-of date: counts
            ],
        },
        users=["4101", "4102"],  # 4103 and 7777 are not in User.csv: normal
    )
    return write_folder(tmp_path / "export", files, **options)


@pytest.mark.parametrize("reader", READERS)
def test_latest_activity_and_window_counts(tmp_path: Path, reader: str) -> None:
    activity = activity_of(basic_export(tmp_path), reader)
    assert users_of(activity) == {
        # rows credited, latest activity up to as-of, rows with activity in the window
        "4101": (4, "2026-06-01", 2),
        "4102": (1, "2026-10-01", 1),  # a deleted row counts with its DateDeleted
        "4103": (1, "2024-02-02", 0),
        "7777": (1, "2026-11-24", 1),
    }
    assert activity.rows == 7
    assert activity.skipped == []
    assert {f.kind for f in activity.files} == {"Client", "Services"}
    assert sorted(activity.other_files) == ["Export.csv", "Project.csv", "User.csv"]
    assert activity.csv_version == "2024 v1.4"


@pytest.mark.parametrize("reader", READERS)
def test_rows_dated_after_as_of_are_ignored(tmp_path: Path, reader: str) -> None:
    files = export_files({"Services": [row("9", "2026-12-01"), row("9", "2027-01-01")]})
    activity = activity_of(write_folder(tmp_path / "e", files), reader)
    assert users_of(activity) == {"9": (2, None, 0)}
    earlier = activity_of(write_folder(tmp_path / "e", files), reader, as_of=d("2027-01-01"))
    assert users_of(earlier) == {"9": (2, "2027-01-01", 2)}


@pytest.mark.parametrize("reader", READERS)
def test_two_digit_years_and_day_first_dates_are_skipped_with_a_warning(
    tmp_path: Path, reader: str
) -> None:
    files = export_files(
        {
            "Client": [
                row("5", "2026-02-01 10:00:00", "04-28-26 05:17:00"),  # 2026? never guessed
                row("5", "2026-02-01 10:00:00", "7/14/26 09:59:00"),
                row("6", "31/10/2026 10:00:00"),  # day first
            ],
            "Services": [row("6", "2026-03-03", "31.10.2026")],
        }
    )
    activity = activity_of(write_folder(tmp_path / "e", files), reader)
    assert users_of(activity) == {"5": (2, "2026-02-01", 0), "6": (2, "2026-03-03", 0)}
    skipped = {(s.file, s.column, s.reason): (s.count, s.example) for s in activity.skipped}
    assert skipped == {
        ("Client.csv", "DateUpdated", Skip.TWO_DIGIT_YEAR): (2, "04-28-26 05:17:00"),
        ("Client.csv", "DateCreated", Skip.DAY_FIRST): (1, "31/10/2026 10:00:00"),
        ("Client.csv", "DateUpdated", Skip.DAY_FIRST): (1, "31/10/2026 10:00:00"),
        ("Services.csv", "DateUpdated", Skip.DAY_FIRST): (1, "31.10.2026"),
    }
    described = [s.describe() for s in activity.skipped]
    assert (
        'Client.csv DateUpdated: 2 values skipped (two-digit year), e.g. "04-28-26 05:17:00"'
        in described
    )


@pytest.mark.parametrize("reader", READERS)
def test_headers_in_any_case_and_a_byte_order_mark(tmp_path: Path, reader: str) -> None:
    expected = users_of(activity_of(basic_export(tmp_path / "plain")))
    for header in (str.lower, str.upper, lambda h: f" {h.swapcase()} "):
        files = export_files(
            {
                "Client": [row("4101", "2026-03-02 10:00:00")],
                "Services": [row("4101", "2026-06-01 09:00:00"), row("4102", "2026-10-01")],
            },
            header=header,
        )
        folder = write_folder(tmp_path / header.__name__, files, bom=True, quote_all=True)
        assert (folder / "Client.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        got = users_of(activity_of(folder, reader))
        assert got == {"4101": (2, "2026-06-01", 1), "4102": (1, "2026-10-01", 1)}
    assert expected["4101"][1] == "2026-06-01"


@pytest.mark.parametrize("reader", READERS)
def test_a_zip_with_a_folder_inside(tmp_path: Path, reader: str) -> None:
    folder = basic_export(tmp_path)
    files = {p.name: read_rows(p) for p in folder.glob("*.csv")}
    archive = write_zip(tmp_path / "export.zip", files, inner_folder="HMIS Export 2026-11-20")
    assert users_of(activity_of(archive, reader)) == users_of(activity_of(folder, reader))
    assert all(f.name.startswith("HMIS Export 2026-11-20/") for f in activity_of(archive).files)


def test_a_zip_holding_two_exports_is_refused(tmp_path: Path) -> None:
    files = export_files({"Services": [row("1", "2026-01-01")]})
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for folder in ("a", "b"):
            archive.writestr(f"{folder}/Services.csv", "UserID,DateCreated\r\n1,2026-01-01\r\n")
    with pytest.raises(Exception, match="more than one export"):
        activity_of(path)
    assert files  # (a single export is read above)


def test_something_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(Exception, match="no HMIS client-data files"):
        activity_of(tmp_path)
    with pytest.raises(Exception, match="neither a folder nor a zip"):
        activity_of(tmp_path / "notes.txt")


@pytest.mark.parametrize("reader", READERS)
def test_fy2022_enrollmentcoc_is_client_data(tmp_path: Path, reader: str) -> None:
    files = export_files(
        {"EnrollmentCoC": [row("3", "2026-07-07")], "Enrollment": [row("3", "2026-01-01")]},
        csv_version="2022 v1.3",
    )
    activity = activity_of(write_folder(tmp_path / "e", files), reader)
    assert users_of(activity) == {"3": (2, "2026-07-07", 1)}


@pytest.mark.parametrize("reader", READERS)
def test_malformed_rows_and_quoted_newlines(tmp_path: Path, reader: str) -> None:
    text = (
        "CurrentLivingSitID,PersonalID,LocationDetails,DateCreated,DateUpdated,UserID,"
        "DateDeleted,ExportID\r\n"
        '1,P1,"under the\r\nbridge, by the river",2026-06-06 10:00:00,2026-06-06 10:00:00,'
        "8,,1036\r\n"
        "2,P2,one field too many,x,2026-06-07,2026-06-07,8,,1036\r\n"
        "3,P3,ok,2026-06-08,2026-06-08,8,,1036\r\n"
        "\r\n"
        "4,P4,no user,2026-06-09,2026-06-09,,,1036\r\n"
    )
    folder = tmp_path / "e"
    folder.mkdir()
    (folder / "CurrentLivingSituation.csv").write_text(text, newline="")
    activity = activity_of(folder, reader)
    assert users_of(activity) == {"8": (2, "2026-06-08", 2)}
    assert activity.malformed_rows == 1
    assert activity.rows_without_user == 1
    assert activity.rows == 3


@pytest.mark.parametrize("reader", READERS)
def test_non_utf8_bytes_and_utf8_user_ids(tmp_path: Path, reader: str) -> None:
    header = "ServicesID,OtherTypeProvided,DateCreated,DateUpdated,UserID,DateDeleted,ExportID\r\n"
    data = (
        header.encode()
        + "1,Caf\xe9 voucher,2026-06-01,2026-06-01,4101,,1\r\n".encode("latin-1")
        + "2,ok,2026-07-01,2026-07-01,jos\u00e9,,1\r\n".encode()
        + b"3,ok,2026-08-01,2026-08-01,ren\xe9,,1\r\n"  # a Latin-1 UserID
    )
    folder = tmp_path / "e"
    folder.mkdir()
    (folder / "Services.csv").write_bytes(data)
    got = users_of(activity_of(folder, reader))
    assert got == {
        "4101": (1, "2026-06-01", 1),
        "jos\u00e9": (1, "2026-07-01", 1),
        "ren\u00e9": (1, "2026-08-01", 1),
    }


@pytest.mark.skipif(not fast_reader_available(), reason="pyarrow is not installed")
def test_the_fast_reader_hands_a_file_with_other_dates_back(tmp_path: Path) -> None:
    files = export_files(
        {
            "Client": [row("1", "9/10/2015 21:39:00"), row("1", "2026-01-01")],
            "Services": [row("1", "2026-02-02 10:00:00")],
        }
    )
    activity = activity_of(write_folder(tmp_path / "e", files), "pyarrow")
    readers = {f.kind: (f.reader, f.note) for f in activity.files}
    assert readers["Services"] == ("pyarrow", "")
    assert readers["Client"][0] == "csv"
    assert users_of(activity) == {"1": (3, "2026-02-02", 0)}


# Hypothesis: the aggregation equals a straightforward reference on random rows.

_DAYS = st.dates(dt.date(2025, 1, 1), dt.date(2027, 3, 1))
_VALUES = st.one_of(
    st.just(""),
    _DAYS.map(dt.date.isoformat),
    st.builds(lambda day, t: f"{day} {t:%H:%M:%S}", _DAYS, st.times()),
    _DAYS.map(lambda day: f"{day:%m/%d/%Y}"),
    _DAYS.map(lambda day: f"{day:%m-%d-%y}"),  # two-digit year
    _DAYS.map(lambda day: f"{day:%d/%m/%Y}"),  # day first (read month-first when it can be)
    st.sampled_from(["NULL", "2026-02-30", "garbage", " 2026-03-03 ", "2026-05-24"]),
)
_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["1", "2", "x y", " 3", "", "4101", "a,b", 'q"t', "line\nbreak"]),
        _VALUES,
        _VALUES,
        _VALUES,
    ),
    max_size=40,
)


def reference(rows, as_of: str, window: str) -> dict[str, tuple[int, str | None, int]]:
    """The rule as SPEC §7 says it, written the plain way (a UserID not shaped like one,
    such as "x y" or "a,b", is not used: README)."""
    users: dict[str, list] = {}
    for user, *values in rows:
        user_id = " ".join(user.split())
        if not re.fullmatch(r"[\w.@-]{1,32}", user_id):
            continue
        days = tuple(v if isinstance(v, str) else None for v in map(read_date, values))
        day = row_activity(days, as_of)
        entry = users.setdefault(user_id, [0, None, 0])
        entry[0] += 1
        if day is not None:
            entry[1] = max(entry[1] or day, day)
            entry[2] += day >= window
    return {k: tuple(v) for k, v in users.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ROWS, _ROWS)
def test_aggregation_equals_the_reference(services, clients) -> None:
    readers = ["csv", "pyarrow"] if fast_reader_available() else ["csv"]
    with tempfile.TemporaryDirectory() as folder:
        files = export_files(
            {
                "Services": [row(u, c, up, de) for u, c, up, de in services],
                "Client": [row(u, c, up, de) for u, c, up, de in clients],
            }
        )
        for name in ("Services.csv", "Client.csv"):  # keep blank DateUpdated blank
            for values, (_, _, updated, _) in zip(
                files[name][1:], services if name == "Services.csv" else clients, strict=True
            ):
                values[-4] = updated
        export = write_folder(Path(folder), files)
        expected = reference(services + clients, AS_OF.isoformat(), WINDOW.isoformat())
        for reader in readers:
            try:
                got = users_of(activity_of(export, reader))
            except UsageError as exc:  # no row could be used: the export is refused
                assert not expected and "could be used" in str(exc), reader
                continue
            assert got == expected, reader


# ----------------------------------------------------------- the real sample exports


@pytest.mark.skipif(not (SHARED / "greenriver-fy2024-datalab").is_dir(), reason="no shared data")
@pytest.mark.parametrize("reader", READERS)
def test_the_datalab_sample_export(reader: str) -> None:
    """Checked by hand with awk on Services.csv (UserID 84 appears only there; column 16
    is UserID, 14 DateCreated, 15 DateUpdated, 17 DateDeleted):
        awk -F, 'NR>1 && $16=="84" {d=substr($14,1,10); u=substr($15,1,10); if (u>d) d=u;
          if (d<="2022-09-30") {n++; if (d>m) m=d; if (d>="2022-03-30") w++}}
          END {print n, m, w}' Services.csv        ->  189 2022-09-29 82
    and the same with 2022-06-30 / 2021-12-30      ->  156 2022-06-28 107 (of 189 rows).
    User 27 and 16 were checked with a csv.DictReader loop over all 14 client files.
    """
    export = SHARED / "greenriver-fy2024-datalab"
    activity = activity_of(export, reader, as_of=d("2022-09-30"), window=d("2022-03-30"))
    users = users_of(activity)
    assert users["84"] == (189, "2022-09-29", 82)
    assert users["27"] == (3741, "2022-09-30", 1479)
    assert users["16"] == (1166, "2022-09-30", 156)
    assert len(users) == 37  # UserIDs referenced; User.csv lists only 12
    assert activity.rows == 19304 and activity.skipped == []
    june = users_of(activity_of(export, reader, as_of=d("2022-06-30"), window=d("2021-12-30")))
    assert june["84"] == (189, "2022-06-28", 107)


@pytest.mark.skipif(not (SHARED / "greenriver-fy2024-bad-data").is_dir(), reason="no shared data")
@pytest.mark.parametrize("reader", READERS)
def test_the_bad_data_sample_export(reader: str) -> None:
    """By hand (grep and awk on Client.csv): cordell's 33 rows are all in Client.csv, the
    latest 2015-09-10, two of them written 9-10-2015 and 9/10/2015 (accepted, month first);
    verlene's 47 rows' latest readable date is 2017-03-15 - guessing her "04-28-19
    05:17:00" as 2019 would have made it 2019-04-28."""
    export = SHARED / "greenriver-fy2024-bad-data"
    activity = activity_of(export, reader, as_of=d("2020-01-01"), window=d("2019-07-01"))
    users = users_of(activity)
    assert users["cordell"] == (33, "2015-09-10", 0)
    assert users["verlene"] == (47, "2017-03-15", 0)
    skipped = {(s.file, s.column, s.reason): s.count for s in activity.skipped}
    assert skipped[("Client.csv", "DateUpdated", Skip.TWO_DIGIT_YEAR)] == 2
    assert activity.rows_without_user == 1  # a shifted row in CurrentLivingSituation.csv
    shown = " ".join(s.example for s in activity.skipped)
    assert "b6585c2320f69a2b920adb507cc9d82f" not in shown  # not date-shaped: not shown


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared data")
def test_no_client_field_of_the_samples_reaches_the_result(tmp_path: Path, capsys) -> None:
    """Client names and SSNs of the sample exports' Client.csv appear nowhere in what an
    import keeps, prints or writes (values that were already there by chance, such as a
    synthetic name "Organization" that is also a file name, cannot tell and are left out;
    dates of birth are left out because a DOB can equal some activity day)."""
    for sample in sorted(SHARED.iterdir()):
        (tmp_path / sample.name).mkdir()
        book = make_workbook(tmp_path / sample.name)
        assert main(import_args(book, basic_export(tmp_path / sample.name))) == 0
        baseline = b"".join(members(book).values()).decode("utf-8", "replace") + " ".join(
            p.name for p in sample.iterdir()
        )
        with (sample / "Client.csv").open(newline="", encoding="utf-8") as handle:
            clients = list(csv.DictReader(handle))
        private = {
            value
            for client in clients
            for key in ("FirstName", "MiddleName", "LastName", "SSN")
            if len(value := client[key].strip('"')) >= 6 and value not in baseline
        }
        assert len(private) > 20
        activity = activity_of(sample, as_of=d("2026-11-24"))
        assert not [v for v in private if v in repr(activity)]
        assert main(import_args(book, sample)) == 0
        printed = capsys.readouterr()
        written = b"".join(members(book).values())
        # A number-only value (an SSN) counts only as a number of its own, not as digits
        # inside another number (a Run At serial such as 46357.945138888888).
        assert not [
            v
            for v in private
            if re.search(rb"(?<![0-9])" + re.escape(v.encode()) + rb"(?![0-9])", written)
        ]
        assert not [v for v in private if v in printed.out + printed.err]


# ------------------------------------------------------------------ the workbook


LICENSE_ROWS = [
    {  # moves later: the export has 2026-06-01
        "License ID": "L-1",
        "User": "Ann",
        "Organization": "Org A",
        "License Type": "Housing Project",
        "HMIS User ID": "4101",
        "Granted On": d("2024-01-01"),
        "Last Client Data Entry": d("2026-03-02"),
        "Client Entries (Window)": 0,
    },
    {  # stays: the sheet already has a later date than the export's 2026-10-01
        "License ID": "L-2",
        "User": "Bo",
        "Organization": "Org A",
        "License Type": "Housing Project",
        "HMIS User ID": 4102.0,  # a whole-number float matches "4102"
        "Granted On": d("2024-01-01"),
        "Last Client Data Entry": d("2026-11-01"),
        "Client Entries (Window)": 3,
    },
    {  # blank: filled in
        "License ID": "L-3",
        "User": "Cy",
        "Organization": "Org A",
        "License Type": "Housing Project",
        "HMIS User ID": 4103,
        "Granted On": d("2024-01-01"),
    },
    {  # not in the export: unchanged, listed as without activity
        "License ID": "L-4",
        "User": "Di",
        "Organization": "Org A",
        "License Type": "Housing Project",
        "HMIS User ID": "5000",
        "Granted On": d("2024-01-01"),
        "Last Client Data Entry": d("2025-01-01"),
        "Client Entries (Window)": 9,
    },
    {  # no HMIS User ID
        "License ID": "L-5",
        "User": "Ed",
        "Organization": "Org A",
        "License Type": "Housing Project",
        "Granted On": d("2024-01-01"),
    },
]


def make_workbook(tmp_path: Path, rows=LICENSE_ROWS, name: str = "book.xlsx") -> Path:
    return write_workbook(tmp_path / name, minimal_sheets(rows))


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def cells(path: Path) -> dict[str, dict[str, object]]:
    book = openpyxl.load_workbook(path)
    try:
        return {
            ws.title: {
                c.coordinate: c.value for r in ws.iter_rows() for c in r if c.value is not None
            }
            for ws in book.worksheets
        }
    finally:
        book.close()


def import_args(book: Path, export: Path, *more: str) -> list[str]:
    return ["import-activity", str(book), str(export), "--as-of", "2026-11-24", *more]


def test_import_updates_the_two_columns(tmp_path: Path, capsys) -> None:
    book = make_workbook(tmp_path)
    assert main(import_args(book, basic_export(tmp_path))) == 0
    licenses = cells(book)["Licenses"]
    assert licenses["J2"] == dt.datetime(2026, 6, 1)  # moved later
    assert licenses["K2"] == 2
    assert licenses["J3"] == dt.datetime(2026, 11, 1)  # already later: kept
    assert licenses["K3"] == 1
    assert licenses["J4"] == dt.datetime(2024, 2, 2)  # was blank
    assert licenses["K4"] == 0
    assert licenses["J5"] == dt.datetime(2025, 1, 1) and licenses["K5"] == 9  # not in export
    assert check_package(book) == []  # what Excel is strict about
    book_ = openpyxl.load_workbook(book)
    assert book_["Licenses"]["J4"].number_format == "yyyy-mm-dd"  # a date, shown as one
    out = capsys.readouterr().out
    assert "Matched:  3 of 4 licenses with an HMIS User ID" in out
    assert "No activity in the export: 1 license: L-4 (5000)" in out
    assert "No license: 1 UserID entered client data in the window but has no license row" in out
    assert "7777 (1 row)" in out
    assert "Read:     2 client-data files, 7 rows" in out
    log = list(book_["Run Log"].iter_rows(values_only=True))
    assert log[0][:2] == ("Run At", "As Of")
    entry = dict(zip(log[0], log[-1], strict=True))
    ran_from = str(entry["Ran From"])
    assert ran_from.startswith(
        "hmis-licensing import-activity: 3 licenses updated from export: 2 client-data files,"
        " 7 rows,"
    )
    assert "; 3 licenses matched, 2 dates moved later;" in ran_from
    assert "1 UserID active in the window with no license: 7777" in entry["Ran From"]
    # It judged no license: Licenses is recalc's count alone (before: 3, licenses matched).
    assert entry["Licenses"] is None and entry["Eligible"] is None and entry["Errors"] == 0
    book_.close()
    # The same export again changes no cell: the count is of licenses updated, not matched.
    assert main(import_args(book, basic_export(tmp_path))) == 0
    book_ = openpyxl.load_workbook(book, read_only=True)
    log = list(book_["Run Log"].iter_rows(values_only=True))
    book_.close()
    again = dict(zip(log[0], log[-1], strict=True))
    ran_again = str(again["Ran From"])
    assert ran_again.startswith("hmis-licensing import-activity: 0 licenses updated from")
    assert "; 3 licenses matched, 0 dates moved later;" in ran_again
    assert again["Licenses"] is None and again["Eligible"] is None


def test_a_missing_column_to_import_into_is_said(tmp_path: Path, capsys) -> None:
    """A Licenses sheet without Last Client Data Entry gets its counts, and a warning that
    the dates were not written (before: "moved later on 0", as if none had changed)."""
    sheets = minimal_sheets(LICENSE_ROWS)
    at = sheets["Licenses"][0].index("Last Client Data Entry")
    sheets["Licenses"] = [[v for i, v in enumerate(r) if i != at] for r in sheets["Licenses"]]
    book = write_workbook(tmp_path / "book.xlsx", sheets)
    assert main(import_args(book, basic_export(tmp_path))) == 0
    out = capsys.readouterr().out
    assert 'Warning:  The Licenses sheet has no "Last Client Data Entry" column' in out
    assert "latest activity dates were not written" in out


@pytest.mark.parametrize("reader", READERS)
def test_a_user_id_written_with_decimals_is_the_same_id_on_either_side(
    tmp_path: Path, reader: str, capsys
) -> None:
    """README: `4101`, `4101.0` and ` 4101 ` are the same, as text in a cell too (a
    workbook pasted from a report) and in the export; `0042` stays its own ID."""
    files = export_files(
        {
            "Services": [
                row("4101.0", "2026-06-01 09:00:00"),
                row(" 4101 ", "2026-07-01 09:00:00"),
                row("0042", "2026-08-01 09:00:00"),
            ]
        },
        users=["4101"],
    )
    export = write_folder(tmp_path / "export", files)
    assert users_of(activity_of(export, reader)) == {
        "4101": (2, "2026-07-01", 2),
        "0042": (1, "2026-08-01", 1),
    }
    rows = [
        {**LICENSE_ROWS[0], "HMIS User ID": "4101.0", "Last Client Data Entry": None},
        {**LICENSE_ROWS[1], "HMIS User ID": "42"},
    ]
    book = make_workbook(tmp_path, rows)
    assert main(import_args(book, export)) == 0
    licenses = cells(book)["Licenses"]
    assert licenses["J2"] == dt.datetime(2026, 7, 1) and licenses["K2"] == 2
    assert licenses["J3"] == dt.datetime(2026, 11, 1), "42 is not 0042: not touched"
    assert "No activity in the export: 1 license: L-2 (42)" in capsys.readouterr().out


def test_a_licenses_sheet_declaring_an_unknown_encoding_is_written_as_utf_8(
    tmp_path: Path,
) -> None:
    """The Licenses part says encoding="x-bogus-9" (it is read as UTF-8, as every reader
    does): the import writes it back as UTF-8 and says so, instead of an internal error."""
    book = make_workbook(tmp_path)
    part = sheet_part_names(book)["Licenses"]
    with zipfile.ZipFile(book) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            if info.filename == part:
                data = re.sub(rb"\A<\?xml[^>]*\?>", b"", data.lstrip())
                data = b'<?xml version="1.0" encoding="x-bogus-9"?>' + data
            archive.writestr(info, data)
    assert main(import_args(book, basic_export(tmp_path))) == 0
    with zipfile.ZipFile(book) as archive:
        assert archive.read(part).startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert cells(book)["Licenses"]["K2"] == 2


def test_recalc_after_import_uses_the_new_dates(tmp_path: Path) -> None:
    """The README's two commands: import-activity, then recalc."""
    book = make_workbook(tmp_path)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    before = {
        r[0]: r
        for r in openpyxl.load_workbook(book)["Inactivity Report"].iter_rows(
            min_row=2, values_only=True
        )
    }
    assert before["L-3"][8] == "Inactive"
    assert main(import_args(book, basic_export(tmp_path))) == 0
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    after = {
        r[0]: r
        for r in openpyxl.load_workbook(book)["Inactivity Report"].iter_rows(
            min_row=2, values_only=True
        )
    }
    assert after["L-1"][6] == dt.datetime(2026, 6, 1)
    assert after["L-3"][6] == dt.datetime(2024, 2, 2)


def test_only_the_two_columns_and_run_log_change(tmp_path: Path) -> None:
    book = make_workbook(tmp_path)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    before_members, before_cells = members(book), cells(book)
    assert main(import_args(book, basic_export(tmp_path))) == 0
    after_members, after_cells = members(book), cells(book)
    assert list(after_members) == list(before_members)
    changed = {n for n in before_members if before_members[n] != after_members[n]}
    parts = sheet_part_names(book)
    assert changed == {parts["Licenses"], parts["Run Log"]}
    for sheet, values in before_cells.items():
        if sheet == "Run Log":
            assert len(after_cells[sheet]) > len(values)
            assert all(after_cells[sheet][k] == v for k, v in values.items())
            continue
        diff = {
            k
            for k in values.keys() | after_cells[sheet].keys()
            if values.get(k) != after_cells[sheet].get(k)
        }
        if sheet == "Licenses":
            assert diff == {"J2", "K2", "K3", "J4", "K4"}
        else:
            assert diff == set(), sheet


def test_unchanged_parts_keep_their_compressed_bytes(tmp_path: Path) -> None:
    book = make_workbook(tmp_path)
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0
    original = book.read_bytes()
    assert main(import_args(book, basic_export(tmp_path))) == 0
    with zipfile.ZipFile(io.BytesIO(original)) as old, zipfile.ZipFile(book) as new:
        parts = sheet_part_names(book)
        touched = {parts["Licenses"], parts["Run Log"], "xl/workbook.xml"}
        for info in old.infolist():
            if info.filename in touched:
                continue
            other = new.getinfo(info.filename)
            assert (other.CRC, other.compress_size) == (info.CRC, info.compress_size)


def test_last_client_data_entry_only_moves_later(tmp_path: Path) -> None:
    book = make_workbook(tmp_path)
    later = export_files({"Services": [row("4101", "2026-09-09"), row("4102", "2026-11-20")]})
    earlier = export_files({"Services": [row("4101", "2026-01-01"), row("4102", "2025-05-05")]})
    assert main(import_args(book, write_folder(tmp_path / "later", later))) == 0
    licenses = cells(book)["Licenses"]
    assert (licenses["J2"], licenses["J3"]) == (dt.datetime(2026, 9, 9), dt.datetime(2026, 11, 20))
    assert main(import_args(book, write_folder(tmp_path / "earlier", earlier))) == 0
    licenses = cells(book)["Licenses"]
    assert (licenses["J2"], licenses["J3"]) == (dt.datetime(2026, 9, 9), dt.datetime(2026, 11, 20))
    assert (licenses["K2"], licenses["K3"]) == (0, 0)  # the counts are the export's


def test_no_client_field_reaches_the_workbook(tmp_path: Path, capsys) -> None:
    book = make_workbook(tmp_path)
    export = basic_export(tmp_path, quote_all=True)
    assert any(m.encode() in (export / "Client.csv").read_bytes() for m in PRIVATE_MARKERS)
    archive = write_zip(
        tmp_path / "e.zip",
        {p.name: read_rows(p) for p in export.glob("*.csv")},
    )
    for source in (export, archive):
        assert main(import_args(book, source)) == 0
    written = members(book)
    printed = capsys.readouterr()
    for marker in PRIVATE_MARKERS:
        for name, data in written.items():
            assert marker.encode() not in data, (marker, name)
            assert marker.encode("utf-16-le") not in data, (marker, name)
        assert marker not in printed.out and marker not in printed.err


def test_an_export_that_starts_late_is_flagged(tmp_path: Path, capsys) -> None:
    book = make_workbook(tmp_path)
    files = export_files({"Services": [row("4101", "2026-10-01")]}, export_start="2026-09-01")
    assert main(import_args(book, write_folder(tmp_path / "e", files))) == 0
    assert "The export starts on 2026-09-01, after the window starts" in capsys.readouterr().out


def test_an_export_that_ends_before_the_window_is_flagged(tmp_path: Path, capsys) -> None:
    """An old export (ending 2025-05-01, the window starting 2026-05-24) cannot show the
    window's activity: said plainly, since every license would look inactive."""
    book = make_workbook(tmp_path)
    files = export_files(
        {"Services": [row("4101", "2025-04-01"), row("8888", "2025-03-01")]},
        export_start="2024-05-01",
        export_end="2025-05-01",
    )
    assert main(import_args(book, write_folder(tmp_path / "e", files))) == 0
    out = capsys.readouterr().out
    assert "No license: 0 UserIDs entered client data in the window" in out
    assert "          1 UserID without a license has only older activity\n" in out
    assert (
        "Warning:  The export ends on 2025-05-01, before the window starts (2026-05-24): it"
        " cannot show client data entry in the window. Is it the right export, or an old one?"
    ) in out


def test_without_export_dates_the_latest_activity_tells_an_old_export(tmp_path: Path) -> None:
    book = make_workbook(tmp_path)
    folder = write_folder(tmp_path / "e", export_files({"Services": [row("4101", "2025-04-01")]}))
    (folder / "Export.csv").unlink()
    report = run_json(import_args(book, folder, "--json"))
    assert report["export_read"]["export_end"] is None
    assert report["warnings"] == [
        "The export's latest client data entry is on 2025-04-01, before the window starts"
        " (2026-05-24): it cannot show client data entry in the window. Is it the right"
        " export, or an old one? Client Entries (Window) was left as it was on every license"
        " (Last Client Data Entry only moves later, as always)."
    ]
    assert report["counts"]["cells_updated"] == 0  # 2025-04-01 is before L-1's 2026-03-02


def test_an_export_matching_no_license_is_flagged(tmp_path: Path, capsys) -> None:
    book = make_workbook(tmp_path)
    files = export_files({"Services": [row("9001", "2026-10-01"), row("9002", "2026-10-02")]})
    assert main(import_args(book, write_folder(tmp_path / "e", files))) == 0
    out = capsys.readouterr().out
    assert "Matched:  0 of 4 licenses with an HMIS User ID" in out
    assert (
        "Warning:  No HMIS User ID matched a UserID in the export: wrong export, or IDs missing"
        " on Licenses? (4 licenses have an HMIS User ID; none is in the export.)"
    ) in out


def run_json(argv: list[str]) -> dict:
    import contextlib
    import json

    buffer = io.StringIO()
    errors = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(errors):
        main(argv)
    assert errors.getvalue() == "", "with --json, stdout holds everything"
    return json.loads(buffer.getvalue())


def test_json_output_matches_the_human_output(tmp_path: Path, capsys) -> None:
    human_book = make_workbook(tmp_path, name="human.xlsx")
    export = basic_export(tmp_path)
    assert main(import_args(human_book, export)) == 0
    human = capsys.readouterr().out
    machine_book = make_workbook(tmp_path, name="machine.xlsx")
    report = run_json(import_args(machine_book, export, "--json"))
    assert report["command"] == "import-activity"
    assert (report["outcome"], report["exit_code"]) == ("ok", 0)
    assert report["written"] == str(machine_book)
    assert report["as_of"] == {"date": "2026-11-24", "from": "--as-of"}
    assert report["window"] == {"start": "2026-05-24", "end": "2026-11-24"}
    assert report["counts"] == {
        "rows": 7,
        "user_ids": 4,
        "licenses_with_user_id": 4,
        "licenses_without_user_id": 1,
        "matched": 3,
        "dates_moved_later": 2,
        "dates_kept": 1,
        "cells_updated": 5,
        "skipped_values": 0,
    }
    assert report["licenses_without_activity"] == [
        {"license_id": "L-4", "row": 5, "hmis_user_id": "5000"}
    ]
    assert report["user_ids_without_license"] == [{"hmis_user_id": "7777", "window_rows": 1}]
    assert [f["name"] for f in report["export_read"]["files"]] == ["Client.csv", "Services.csv"]
    # the same facts as the human summary, and the same workbook written
    assert "Matched:  3 of 4 licenses with an HMIS User ID" in human
    assert "moved later on 2 (1 already had that date or a later one)" in human
    assert "Wrote:    " in human and "(5 Licenses cells updated; a Run Log row added)" in human
    assert cells(machine_book)["Licenses"] == cells(human_book)["Licenses"]
    assert report["warnings"] == [
        "1 UserID entered client data in the window but has no license row."
    ]
    assert (
        "No license: 1 UserID entered client data in the window but has no license row:"
        " 7777 (1 row)"
    ) in human


def test_quiet_prints_only_problems(tmp_path: Path, capsys) -> None:
    book = make_workbook(tmp_path)
    assert main(import_args(book, basic_export(tmp_path), "--quiet")) == 0
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == (
        "Warning: 1 UserID entered client data in the window but has no license row.\n"
    )
    assert cells(book)["Licenses"]["K2"] == 2  # it still imported


def test_a_formula_or_a_bad_date_is_left_alone_and_reported(tmp_path: Path, capsys) -> None:
    rows = [dict(r) for r in LICENSE_ROWS]
    rows[0]["Last Client Data Entry"] = "31/02/2026"
    book = make_workbook(tmp_path, rows)
    with_formula = openpyxl.load_workbook(book)
    with_formula["Licenses"]["J4"] = "=DATE(2026,1,1)"  # a real formula
    with_formula.save(book)
    assert main(import_args(book, basic_export(tmp_path))) == 1
    captured = capsys.readouterr()
    assert 'Licenses!J2: "31/02/2026" is not a date' in captured.err
    assert "Licenses!J4: holds a formula; it was left as it is" in captured.err
    book_ = openpyxl.load_workbook(book)
    assert book_["Licenses"]["J2"].value == "31/02/2026"
    assert book_["Licenses"]["J4"].value == "=DATE(2026,1,1)"
    assert book_["Licenses"]["K2"].value == 2  # the rest of the import was written


def test_a_workbook_without_hmis_user_ids_is_not_changed(tmp_path: Path, capsys) -> None:
    sheets = minimal_sheets(LICENSE_ROWS)
    column = sheets["Licenses"][0].index("HMIS User ID")
    sheets["Licenses"] = [r[:column] + r[column + 1 :] for r in sheets["Licenses"]]
    book = write_workbook(tmp_path / "book.xlsx", sheets)
    before = book.read_bytes()
    assert main(import_args(book, basic_export(tmp_path))) == 1
    assert 'has no "HMIS User ID" column' in capsys.readouterr().err
    assert book.read_bytes() == before


def test_exit_2_for_a_missing_export_or_workbook(tmp_path: Path, capsys) -> None:
    book = make_workbook(tmp_path)
    before = book.read_bytes()
    assert main(import_args(book, tmp_path / "missing.zip")) == 2
    assert "missing.zip: no such file or folder" in capsys.readouterr().err
    assert main(import_args(tmp_path / "none.xlsx", basic_export(tmp_path))) == 2
    assert book.read_bytes() == before


def test_output_leaves_the_workbook_alone(tmp_path: Path) -> None:
    book = make_workbook(tmp_path)
    before = book.read_bytes()
    out = tmp_path / "updated.xlsx"
    assert main(import_args(book, basic_export(tmp_path), "--output", str(out))) == 0
    assert book.read_bytes() == before
    assert cells(out)["Licenses"]["J2"] == dt.datetime(2026, 6, 1)


def test_the_window_comes_from_the_policy(tmp_path: Path) -> None:
    from tests.conftest import policy_text

    book = make_workbook(tmp_path)
    policy = tmp_path / "policy.yaml"
    text = policy_text().replace(
        "client_data_window: {months: 6}", "client_data_window: {months: 1}"
    )
    policy.write_text(text)
    assert main(import_args(book, basic_export(tmp_path), "--policy", str(policy))) == 0
    assert cells(book)["Licenses"]["K2"] == 0  # 2026-06-01 is outside one month


def test_on_the_bundled_sample_workbook(tmp_path: Path) -> None:
    from tests.conftest import SAMPLE

    book = Path(shutil.copy(SAMPLE, tmp_path / "sample.xlsx"))
    licenses = {
        r[0]: r
        for r in openpyxl.load_workbook(book)["Licenses"].iter_rows(min_row=2, values_only=True)
    }
    ids = [str(r[6]) for r in licenses.values() if r[6]]
    files = export_files({"Services": [row(i, "2026-11-23 10:00:00") for i in ids[:5]]})
    assert main(import_args(book, write_folder(tmp_path / "e", files))) == 0
    after = {
        r[0]: r
        for r in openpyxl.load_workbook(book)["Licenses"].iter_rows(min_row=2, values_only=True)
    }
    moved = [k for k in licenses if after[k][9] != licenses[k][9]]
    assert len(moved) == 5 and all(after[k][9] == dt.datetime(2026, 11, 23) for k in moved)
    assert check_package(book) == []
    assert main(["recalc", str(book), "--as-of", "2026-11-24"]) == 0


# --------------------------------------------------------------- progress, cells


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_only_for_a_large_export_on_a_terminal() -> None:
    terminal = _Terminal()
    assert not Progress(terminal).start(1000)
    assert not Progress(io.StringIO()).start(10**10)
    bar = Progress(terminal)
    assert bar.start(10**9)
    bar.advance(5 * 10**8)
    bar.finish()
    assert "Reading export [" in terminal.getvalue()


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path, capsys) -> None:
    assert main(import_args(make_workbook(tmp_path), basic_export(tmp_path))) == 0
    assert "Reading export" not in capsys.readouterr().err


def test_set_number_cells_keeps_every_other_byte() -> None:
    text = (
        '<x:worksheet xmlns:x="urn:x"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c></x:row>'
        '<x:row r="2" spans="1:1"><x:c r="A2"><x:v>1</x:v></x:c><x:c r="D2" s="3"><x:f>A2</x:f>'
        "<x:v>1</x:v></x:c></x:row>"
        '<x:row r="3"/>'
        "</x:sheetData><x:rowBreaks/></x:worksheet>"
    )
    patched = set_number_cells(
        text, {(2, 2): ("46000", 5), (2, 3): ("7", None), (3, 2): ("8", None), (3, 1): ("9", 4)}
    )
    assert patched == (
        '<x:worksheet xmlns:x="urn:x"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c></x:row>'
        '<x:row r="2"><x:c r="A2"><x:v>1</x:v></x:c><x:c r="C2" s="5"><x:v>46000</x:v></x:c>'
        '<x:c r="D2"><x:v>7</x:v></x:c></x:row>'
        '<x:row r="3"><x:c r="B3" s="4"><x:v>9</x:v></x:c><x:c r="C3"><x:v>8</x:v></x:c></x:row>'
        "</x:sheetData><x:rowBreaks/></x:worksheet>"
    )
    assert [r.number for r in sheet_rows(patched)] == [1, 2, 3]


# ------------------------------------------------- a large export's files side by side


def _everything_of(activity) -> tuple[object, ...]:
    """All an import learned, in an order that does not depend on which file came first."""
    return (
        users_of(activity),
        [
            (f.name, f.kind, f.rows, f.malformed_rows, f.long_lines, f.rows_without_user, f.note)
            for f in activity.files
        ],
        activity.skipped,
        sorted(activity.other_files),
        activity.csv_version,
    )


def _quirky_export(tmp_path: Path) -> Path:
    """Three client files with what the csv route handles specially: quoted line breaks,
    a malformed row, a blank line, a Latin-1 byte, a Latin-1 UserID, a two-digit year."""
    folder = write_folder(
        tmp_path / "quirky",
        export_files(
            {
                "Client": [row("4101", "2026-01-05 09:00:00"), row("4102", "04-28-19 05:17:00")],
                "Services": [
                    row("4101", "2026-06-01 09:00:00"),
                    row("7777", "2026-11-24 23:59:59"),
                ],
            }
        ),
    )
    (folder / "CurrentLivingSituation.csv").write_bytes(
        b"CurrentLivingSitID,PersonalID,LocationDetails,DateCreated,DateUpdated,UserID,"
        b"DateDeleted,ExportID\r\n"
        b'1,P1,"under the\r\nbridge, by the river",2026-06-06 10:00:00,2026-06-06,8,,1\r\n'
        b"2,P2,one field too many,x,2026-06-07,2026-06-07,8,,1\r\n"
        b"\r\n"
        b"3,Caf\xe9,ok,2026-06-08,2026-06-08,ren\xe9,,1\r\n"
    )
    return folder


@pytest.mark.parametrize("workers", [2, 3])
def test_files_read_side_by_side_give_what_one_process_gives(tmp_path: Path, workers: int) -> None:
    exports = [basic_export(tmp_path), _quirky_export(tmp_path)]
    exports += [SHARED / n for n in ("greenriver-fy2024-datalab", "greenriver-fy2024-bad-data")]
    for export in [e for e in exports if e.is_dir()]:
        alone = read_export_activity(export, AS_OF, WINDOW, reader="csv", workers=1)
        side_by_side = read_export_activity(export, AS_OF, WINDOW, reader="csv", workers=workers)
        assert _everything_of(side_by_side) == _everything_of(alone), export.name
    quirky = users_of(read_export_activity(exports[1], AS_OF, WINDOW, reader="csv", workers=2))
    assert quirky["8"] == (1, "2026-06-06", 1) and quirky["ren\u00e9"] == (1, "2026-06-08", 1)


def test_only_a_large_folder_export_is_read_side_by_side(tmp_path: Path) -> None:
    from workbook.hmis.export import ExportFile
    from workbook.hmis.side_by_side import MAX_WORKERS, csv_workers, dealt

    def file(name: str, size: int, path: Path | None = tmp_path) -> ExportFile:
        return ExportFile(name, "Services", size, lambda: io.BytesIO(), path=path)

    big = 40 << 20
    assert csv_workers([file("a.csv", 10), file("b.csv", 10)]) == 1  # small: not worth it
    assert csv_workers([file("a.csv", 3 * big)]) == 1  # one file
    assert csv_workers([file("a.csv", big), file("b.csv", big, None)]) == 1  # a zip member
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    many = [file(f"{i}.csv", big) for i in range(9)]
    assert csv_workers(many) == min(9, MAX_WORKERS, cores or 1)
    # Largest first, each to the lightest hand: the hands end close together.
    sizes = [30, 24, 7, 6, 6, 5, 5, 5, 4, 3, 2, 1, 1, 1]
    hands = dealt([file(f"{i}.csv", s) for i, s in enumerate(sizes)], 2)
    assert sorted(sum(f.size for f in hand) for hand in hands) == [50, 50]


def test_side_by_side_progress_counts_every_byte_once(tmp_path: Path) -> None:
    from workbook.hmis.export import CLIENT_BY_KEY
    from workbook.hmis.export import export_files as files_of
    from workbook.hmis.side_by_side import read_files_side_by_side

    class Counting(Progress):
        def advance(self, count: int) -> None:
            self.done += count

    progress = Counting(io.StringIO())
    with files_of(_quirky_export(tmp_path)) as found:
        client = [f for f in found if f.kind in CLIENT_BY_KEY.values()]
        tallies = list(read_files_side_by_side(client, "2026-11-24", "2026-05-24", progress, 2))
    assert sorted(t.file.name for t in tallies) == sorted(f.name for f in client)
    assert progress.done == sum(f.size for f in client)


def test_an_error_in_a_worker_is_the_error_one_process_raises(tmp_path: Path) -> None:
    from workbook.errors import UsageError
    from workbook.hmis.export import MAX_USER_IDS

    folder = write_folder(tmp_path / "e", export_files({"Client": [row("1", "2026-01-05")]}))
    lines = "".join(f"{i},x,2026-06-01,2026-06-01,u{i},,1\r\n" for i in range(MAX_USER_IDS + 1))
    (folder / "Services.csv").write_text(
        "ServicesID,OtherTypeProvided,DateCreated,DateUpdated,UserID,DateDeleted,ExportID\r\n"
        + lines,
        newline="",
    )
    messages = []
    for workers in (1, 2):
        with pytest.raises(UsageError) as raised:
            read_export_activity(folder, AS_OF, WINDOW, reader="csv", workers=workers)
        messages.append((str(raised.value), raised.value.fix))
    assert messages[0] == messages[1]
    assert "Services.csv: the export holds more than 100,000 different UserIDs" in messages[1][0]


# ------------------------------------------- shifted rows, unusable files, old exports


def _client_file(folder: Path, *lines: str, name: str = "Client.csv") -> Path:
    """A client-data file written line by line (CRLF), with the usual project files."""
    folder = write_folder(folder, export_files({}))
    header = "PersonalID,DateCreated,DateUpdated,UserID,DateDeleted"
    (folder / name).write_bytes("".join(f"{x}\r\n" for x in (header, *lines)).encode())
    return folder


SHIFTED = "Jane Roe DOB 1980-01-01"


@pytest.mark.parametrize("reader", READERS)
def test_a_user_id_not_shaped_like_one_is_counted_and_never_kept(
    tmp_path: Path, reader: str
) -> None:
    """A shifted row puts a client's name in the UserID column (and a value over HUD's 32
    characters is no UserID either): not used, counted, and never among the users."""
    folder = _client_file(
        tmp_path / "e",
        f"5,2022-09-01,,{SHIFTED},",
        "6,2026-06-01,2026-06-01,4101,",
        "7,2026-06-02,2026-06-02,andre.ha,",
        f"8,2026-06-03,2026-06-03,{'A' * 33},",
        "9,2026-06-04,2026-06-04,jane@example.org,",
    )
    activity = activity_of(folder, reader)
    assert sorted(users_of(activity)) == ["4101", "andre.ha", "jane@example.org"]
    assert activity.rows_unshaped_user == 2
    assert activity.rows == 5


def test_a_shifted_client_name_is_never_printed_or_written(tmp_path: Path, capsys) -> None:
    """Before: "No license: 1 UserID ...: Jane Roe DOB 1980-01-01 (1 row)" on the screen,
    in the Run Log's Ran From cell and in --json's user_ids_without_license."""
    folder = _client_file(
        tmp_path / "e", f"5,2022-09-01,,{SHIFTED},", "6,2026-06-01,2026-06-01,4101,"
    )
    book = make_workbook(tmp_path)
    assert main(import_args(book, folder, "--as-of", "2022-10-01")) == 0
    printed = capsys.readouterr()
    report = run_json(import_args(book, folder, "--as-of", "2022-10-01", "--json"))
    assert main(import_args(book, folder, "--as-of", "2022-10-01", "--quiet")) == 0
    quiet = capsys.readouterr()
    for part in ("Jane", "Roe", "1980-01-01"):
        assert part not in printed.out + printed.err + quiet.out + quiet.err
        assert part not in str(report)
        assert all(part.encode() not in data for data in members(book).values())
    assert (
        "Warning:  Client.csv: 1 row whose UserID is not shaped like a user ID (not shown)"
        " was not used" in printed.out
    )
    assert report["user_ids_without_license"] == []
    log = list(openpyxl.load_workbook(book)["Run Log"].iter_rows(values_only=True))
    ran_from = dict(zip(log[0], log[1], strict=True))["Ran From"]
    assert "no UserID active in the window without a license" in ran_from
    assert "1 row whose UserID is not shaped like a user ID (not shown) not used" in ran_from


def test_an_export_with_no_usable_client_file_is_refused(tmp_path: Path, capsys) -> None:
    """Semicolon-separated Client.csv and Enrollment.csv: before, two warnings, "ok", exit
    0 and a Run Log row; now exit 2 naming each file and the separator, nothing written."""
    folder = write_folder(tmp_path / "e", export_files({}))
    for name in ("Client.csv", "Enrollment.csv"):
        (folder / name).write_bytes(
            b"PersonalID;DateCreated;DateUpdated;UserID;DateDeleted\r\n"
            b"5;2026-09-01;2026-09-01;4101;\r\n"
        )
    book = make_workbook(tmp_path)
    before = book.read_bytes()
    assert main(import_args(book, folder)) == 2
    err = capsys.readouterr().err
    assert "no client-data file in it could be used, so nothing was imported" in err
    for name in ("Client.csv", "Enrollment.csv"):
        assert (
            f"    {name}: no UserID, DateCreated, DateUpdated, DateDeleted columns (its header"
            " has no comma but 4 semicolons: the file looks separated by semicolons (;), and"
            " HUD CSV files are comma-separated); file not used"
        ) in err
    assert "How to fix: HUD HMIS CSV files are comma-separated: export again" in err
    report = run_json(import_args(book, folder, "--json"))
    assert (report["outcome"], report["exit_code"]) == ("refused", 2)
    assert book.read_bytes() == before


@pytest.mark.parametrize("reader", READERS)
def test_an_export_none_of_whose_rows_can_be_used_is_refused(tmp_path: Path, reader: str) -> None:
    """Every row with the wrong number of fields: 0 rows used from all files."""
    folder = _client_file(tmp_path / "e", "5,2026-09-01,2026-09-01,4101", "6,2026-09-01,4101,,,")
    with pytest.raises(UsageError) as refused:
        activity_of(folder, reader)
    assert str(refused.value).splitlines()[1:3] == [
        "    Client.csv: 2 rows with a different number of fields from the header (lines 2 and 3)",
        "  How to fix: Export again from the HMIS as the HUD HMIS CSV export (FY2022, FY2024"
        " or FY2026) and give that .zip or folder as it is (a file opened and saved in another"
        " program can lose its quotes, fields or columns).",
    ]
    book = make_workbook(tmp_path)
    before = book.read_bytes()
    assert main(import_args(book, folder, "--quiet")) == 2
    assert book.read_bytes() == before


def test_an_export_ending_before_the_window_leaves_the_counts(tmp_path: Path, capsys) -> None:
    """Before: every matched license's Client Entries (Window) became 0 (L-2's 3 among
    them), from an export that cannot show the window at all."""
    book = make_workbook(tmp_path)
    files = export_files(
        {
            "Services": [
                row("4101", "2025-04-01"),
                row("4102", "2025-03-01"),
                row("4103", "2025-02-02"),
            ]
        },
        export_start="2024-05-01",
        export_end="2025-05-01",
    )
    assert main(import_args(book, write_folder(tmp_path / "e", files))) == 0
    licenses = cells(book)["Licenses"]
    assert (licenses["K2"], licenses["K3"], licenses.get("K4")) == (0, 3, None)  # as they were
    assert licenses["J4"] == dt.datetime(2025, 2, 2)  # a blank date still moves later
    out = capsys.readouterr().out
    assert (
        "Is it the right export, or an old one? Client Entries (Window) was left as it was on"
        " every license" in out
    )
    log = list(openpyxl.load_workbook(book)["Run Log"].iter_rows(values_only=True))
    ran_from = dict(zip(log[0], log[-1], strict=True))["Ran From"]
    assert "Client Entries (Window) not changed: the export ends before the window" in ran_from


@pytest.mark.parametrize("reader", READERS)
def test_rows_with_the_wrong_number_of_fields_are_named_by_line(
    tmp_path: Path, reader: str
) -> None:
    """Before: "Client.csv: 3 rows with a different number of fields from the header were
    not used." Now their line numbers (as a text editor counts them: a quoted line break
    is a line), and a fix. A row lacking only its last, empty DateDeleted is not used
    either (hmis-csv.md documents no vendor that drops trailing fields)."""
    from workbook.hmis.importer import warnings

    folder = _client_file(
        tmp_path / "e",
        '5,"a note with a\r\nline break",2026-09-01,2026-09-01,4101,',  # lines 2-3: 6 fields
        "6,2026-09-01,2026-09-01,4101,",  # line 4: good
        "7,2026-09-01,2026-09-01,4101",  # line 5: no trailing empty DateDeleted
        "8,2026-09-02,2026-09-02,4102,",  # line 6: good
        "9,2026-09-01,2026-09-01,4101,,",  # line 7: one field too many
    )
    activity = activity_of(folder, reader)
    assert users_of(activity) == {"4101": (1, "2026-09-01", 1), "4102": (1, "2026-09-02", 1)}
    assert activity.malformed_rows == 3
    assert warnings(activity, None)[0] == (
        "Client.csv: 3 rows with a different number of fields from the header (lines 2, 5"
        " and 7) were not used (a row lacking only its last, empty fields is not filled in"
        " either: which of its fields is missing cannot be told). Look at those lines in a"
        " text editor (a field holding a comma must be in double quotes), or export the file"
        " again from the HMIS."
    )


def test_only_the_first_few_line_numbers_are_named(tmp_path: Path) -> None:
    from workbook.hmis.importer import warnings

    folder = _client_file(tmp_path / "e", "1,2026-09-01,2026-09-01,4101,", *["x,y"] * 7)
    activity = activity_of(folder)
    assert (
        "7 rows with a different number of fields from the header (lines 3, 4, 5, 6, 7, ...)"
        in (warnings(activity, None)[0])
    )
