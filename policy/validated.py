"""A record of policy files that already passed the JSON Schema, so that a recalc does
not import the YAML parser and jsonschema (a tenth of a second or more, more than the
reading and the check themselves) to read and check the same policy.yaml every month.

Two records, both written only after a policy passed. A *document* (as parsed, types
included) is recorded under the SHA-256 of the schema's text and of the document, as an
empty file: `schema_messages` then need not check it again. A *file* is recorded under
the SHA-256 of this hmis-licensing's version, the schema and the file's bytes, as the
JSON of its checked document: `load_policy_bytes` then need not parse it either. Any
change to the file, the schema or the version is read and checked afresh. The records
live in the user's cache folder:
`HMIS_LICENSING_CACHE` when set (an empty value or `off` turns the record off), else
`%LOCALAPPDATA%\\hmis-licensing` on Windows, `$XDG_CACHE_HOME/hmis-licensing` or
`~/.cache/hmis-licensing` elsewhere. It only ever saves time: when the folder cannot be
read or written, the schema is checked as if nothing were recorded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

CACHE_VARIABLE = "HMIS_LICENSING_CACHE"
_FOLDER = "policies-valid"
_FILES_FOLDER = "policies-read"
_MAX_RECORD_BYTES = 4 << 20  # a policy file is at most 1 MB (policy/files.py)


def cache_folder(kind: str = _FOLDER) -> Path | None:
    """Where passed documents are recorded, or None when the record is off."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen is not None:
        if chosen.strip() in ("", "off"):
            return None
        return Path(chosen) / kind
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    elif os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"])
    else:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no home folder can be found
            return None
    return base / "hmis-licensing" / kind


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


# The code that turns a file's bytes into its checked document: a change to any of it
# (a developer's edit, not only a new version) makes every recorded file read afresh.
_READING_CODE = ("loader.py", "yamlstrict.py", "versions.py", "schema.py", "policy.schema.json")


def file_key(data: bytes) -> str:
    """The SHA-256 of the reading code and the file's bytes."""
    digest = hashlib.sha256(_reading_code_digest())
    digest.update(data)
    return digest.hexdigest()


@functools.cache
def _reading_code_digest() -> bytes:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _READING_CODE:
        try:
            digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
        except OSError:  # not readable where this runs: nothing is ever found recorded
            digest.update(os.urandom(16))
    return digest.digest()


def recorded_document(key: str) -> Any | None:
    """The checked document of a policy file that passed before, or None."""
    folder = cache_folder(_FILES_FOLDER)
    if folder is None:
        return None
    try:  # (not blocking on a FIFO or device put in its place; only a regular file is read)
        descriptor = os.open(folder / f"{key}.json", os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            text = handle.read(_MAX_RECORD_BYTES + 1)
        if len(text) > _MAX_RECORD_BYTES:
            return None
        document = json.loads(text)
    except (OSError, ValueError):  # absent, unreadable, or not what this module writes
        return None
    return document if isinstance(document, dict) else None


def record_document(key: str, document: Any) -> None:
    """Remember a passed file's checked document, when JSON gives it back exactly (the
    YAML reader yields only text keys and JSON's scalars, so it always should)."""
    folder = cache_folder(_FILES_FOLDER)
    if folder is None:
        return
    text = json.dumps(document, allow_nan=False)  # keys in the file's order, which counts
    if repr(json.loads(text)) != repr(document):
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f"{key}.{os.getpid()}.tmp"
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, folder / f"{key}.json")  # whole or not at all
    except OSError:
        return
