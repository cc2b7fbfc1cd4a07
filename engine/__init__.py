"""The policy engine: pure functions from a policy, input tables and a date to results.

    results = engine.recalculate(policy, inputs, as_of)

No file, Excel, clock or network is touched here; the command line, the Excel button and
the worksheet functions all call this same function (engine/recalculation.py).

The package loads its modules when a name is first used (PEP 562), so that what needs
only the version (`hmis-licensing --version`) starts without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from engine._version import __version__

if TYPE_CHECKING:
    from engine.errors import HmisLicensingError
    from engine.model import Inputs, Policy, Results
    from engine.recalculation import recalculate

ENGINE_VERSION = __version__

__all__ = [
    "ENGINE_VERSION",
    "HmisLicensingError",
    "Inputs",
    "Policy",
    "Results",
    "__version__",
    "recalculate",
]

_FROM = {
    "recalculate": "engine.recalculation",
    "HmisLicensingError": "engine.errors",
    "Inputs": "engine.model",
    "Policy": "engine.model",
    "Results": "engine.model",
}


def __getattr__(name: str) -> object:
    if name in _FROM:
        return getattr(importlib.import_module(_FROM[name]), name)
    try:  # a module of the package: engine.model, engine.inactivity, ...
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
