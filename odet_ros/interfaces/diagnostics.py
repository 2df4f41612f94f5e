"""diagnostic_msgs/DiagnosticStatus as plain values: what a node reports on /diagnostics, decided
without ROS (the nodes turn it into messages as it is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Level(IntEnum):
    OK = 0
    WARN = 1
    ERROR = 2


@dataclass(frozen=True)
class Status:
    """One diagnostic_msgs/DiagnosticStatus, as plain values."""

    level: Level
    name: str
    message: str
    hardware_id: str = ""
    values: dict[str, str] = field(default_factory=dict)
