"""Import Ultralytics in offline mode: it must never download weights or pip-install packages.

Ultralytics reads these switches when it is first imported, so every odet module that needs it
imports it through :func:`import_ultralytics` instead of ``import ultralytics``.
"""

from __future__ import annotations

import os
from types import ModuleType

OFFLINE_ENVIRONMENT = {
    "YOLO_OFFLINE": "1",  # no connectivity checks, no hub calls
    "YOLO_AUTOINSTALL": "False",  # no `pip install` of missing requirements mid-export
}


def import_ultralytics() -> ModuleType:
    """Return the ``ultralytics`` module with downloads, auto-install and telemetry off."""
    os.environ.update(OFFLINE_ENVIRONMENT)
    os.environ.setdefault("YOLO_VERBOSE", "False")  # quiet, unless the caller asked otherwise
    import ultralytics
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync", False):
        SETTINGS.update({"sync": False})  # type: ignore[no-untyped-call]  # untyped library
    return ultralytics
