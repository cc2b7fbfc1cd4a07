"""A record of policy documents that already passed the JSON Schema, so that a recalc
does not import jsonschema (a tenth of a second, more than the check itself) to check
the same policy.yaml again every month.

A document is recorded only after it passed, under a key that is the SHA-256 of the
schema's text and of the document (as parsed, types included), so any change to either
is checked afresh. The record is a folder of empty files in the user's cache folder:
`HMIS_LICENSING_CACHE` when set (an empty value or `off` turns the record off), else
`%LOCALAPPDATA%\\hmis-licensing` on Windows, `$XDG_CACHE_HOME/hmis-licensing` or
`~/.cache/hmis-licensing` elsewhere. It only ever saves time: when the folder cannot be
read or written, the schema is checked as if nothing were recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

CACHE_VARIABLE = "HMIS_LICENSING_CACHE"
_FOLDER = "policies-valid"


def cache_folder() -> Path | None:
    """Where passed documents are recorded, or None when the record is off."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen is not None:
        if chosen.strip() in ("", "off"):
            return None
        return Path(chosen) / _FOLDER
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    elif os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"])
    else:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no home folder can be found
            return None
    return base / "hmis-licensing" / _FOLDER


def document_key(schema_text: str, data: Any) -> str:
    """The SHA-256 of the schema and the parsed document. `repr` of what JSON has no
    type for (a YAML date) keeps 2027-01-01 the date apart from "2027-01-01" the text."""
    document = json.dumps(data, sort_keys=True, default=repr, allow_nan=True)
    digest = hashlib.sha256(schema_text.encode("utf-8"))
    digest.update(b"\0")
    digest.update(document.encode("utf-8"))
    return digest.hexdigest()


def passed_before(key: str) -> bool:
    folder = cache_folder()
    if folder is None:
        return False
    try:
        return (folder / key).is_file()
    except OSError:
        return False


def record_pass(key: str) -> None:
    """Remember that the document passed; quietly nothing when the folder is unusable."""
    folder = cache_folder()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / key, os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError:
        return
    os.close(descriptor)
