"""The core's :class:`~odet_ros.runtime.health.Status` as /diagnostics messages."""

from __future__ import annotations

from collections.abc import Iterable

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from odet_ros.interfaces.diagnostics import Status


def diagnostic_array(statuses: Iterable[Status], stamp: Time) -> DiagnosticArray:
    array = DiagnosticArray(
        status=[
            DiagnosticStatus(
                level=bytes([status.level]),
                name=status.name,
                message=status.message,
                hardware_id=status.hardware_id,
                values=[KeyValue(key=k, value=v) for k, v in status.values.items()],
            )
            for status in statuses
        ]
    )
    array.header.stamp = stamp
    return array
