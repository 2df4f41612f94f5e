"""Rewrite the generated parts of the docs: each node's parameter table in docs/reference.md,
from the table the node declares (odet_ros/runtime/*_parameters.py), so that the reference never
disagrees with `ros2 param describe`. test_readme.py fails while they differ.

Run with the project's environment: `.venv/bin/python scripts/update_docs.py`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from odet_ros.runtime.camera_parameters import CAMERA_PARAMETERS
from odet_ros.runtime.capture_parameters import CAPTURE_PARAMETERS
from odet_ros.runtime.detector_parameters import DETECTOR_PARAMETERS
from odet_ros.runtime.parameters import markdown_table

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"
SECTION = re.compile(
    r"(?P<start><!-- generated: (?P<name>[\w]+) -->\n).*?(?P<end><!-- end generated -->)", re.S
)
TABLES = {
    "detector_node": DETECTOR_PARAMETERS,
    "capture_node": CAPTURE_PARAMETERS,
    "camera_node": CAMERA_PARAMETERS,
}


def render(text: str) -> str:
    """``text`` with each generated section holding its table as the code declares it."""

    def fill(match: re.Match[str]) -> str:
        table = markdown_table(TABLES[match["name"]])
        return f"{match['start']}{table}{match['end']}"

    return SECTION.sub(fill, text)


def main() -> int:
    text = REFERENCE.read_text()
    updated = render(text)
    if updated != text:
        REFERENCE.write_text(updated)
        print(f"updated {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
