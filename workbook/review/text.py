"""Workbook text made safe for a printed page, an e-mail header or a file name.

Everything a packet or a notice shows comes from people (names, e-mail addresses, notes)
or from HMIS exports, so none of it is trusted: control characters go, a header value is
one line, a cell is bounded so that one huge name cannot make a table row taller than a
page, and a file name is one Windows, macOS and Linux can all hold.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# Control characters but tab and newline; also lone surrogates and non-characters, which
# neither a PDF string nor an e-mail can carry.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in "123456789"
}
ELLIPSIS = "…"


def clean(text: object) -> str:
    """Text for a page: line breaks kept as "\\n", tabs as spaces, other controls dropped."""
    if text is None:
        return ""
    value = _LINE_BREAKS.sub("\n", str(text)).replace("\t", " ")
    return _CONTROL.sub("", value)


def one_line(text: object) -> str:
    """Text for an e-mail header or a file name: one line, single spaces, no controls.

    A name such as "x\\r\\nBcc: a@b" becomes "x Bcc: a@b": a header can never be started
    by workbook text.
    """
    return " ".join(clean(text).split())


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, the last one an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def show(value: object) -> str:
    """A result value as a committee member reads it: ISO dates, 1,234, Yes/No, blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return f"{value:,}"
    return clean(value)


_NAME_BYTES = 200  # file systems hold 255 bytes (or UTF-16 units) a name: room for " (99).eml"


def safe_file_name(name: str, suffix: str, taken: set[str] | None = None, limit: int = 120) -> str:
    """`name` + `suffix` as a file name every system can hold, unique within `taken`.

    Drops what Windows forbids (<>:"/\\|?* and controls), trailing dots and spaces, avoids
    its reserved device names (CON, NUL, COM1, ...), keeps the name short enough for a
    deep folder (at most `limit` characters and 200 bytes of UTF-8), and adds " (2)",
    " (3)" ... when another name in `taken` already reads the same on a case-insensitive
    file system. `taken` is updated.
    """
    base = unicodedata.normalize("NFC", one_line(name))
    base = _WINDOWS_FORBIDDEN.sub("-", base)
    base = cut(base, limit)
    while len(base.encode("utf-8")) > _NAME_BYTES:  # 120 CJK characters are 360 bytes
        base = cut(base, len(base) - 1)
    base = base.rstrip(" .") or "unnamed"
    if base.split(".")[0].strip().casefold() in _WINDOWS_RESERVED:
        base = "_" + base
    taken = taken if taken is not None else set()
    candidate, number = base + suffix, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{base} ({number}){suffix}"
    taken.add(candidate.casefold())
    return candidate
