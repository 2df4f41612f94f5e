"""Parameter descriptors: the description, range and choices `ros2 param describe` shows."""

from __future__ import annotations

from collections.abc import Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor


def describe(
    description: str,
    *,
    floats: tuple[float, float] | None = None,
    ints: tuple[int, int] | None = None,
    step: int = 1,
    choices: Sequence[str] | None = None,
    read_only: bool = False,
) -> ParameterDescriptor:
    """A descriptor; rclpy itself rejects values outside ``floats``/``ints`` ranges, while
    ``choices`` are listed for the user and checked by the node's set-parameters callback."""
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    if floats is not None:
        descriptor.floating_point_range = [
            FloatingPointRange(from_value=float(floats[0]), to_value=float(floats[1]), step=0.0)
        ]
    if ints is not None:
        descriptor.integer_range = [IntegerRange(from_value=ints[0], to_value=ints[1], step=step)]
    if choices is not None:
        descriptor.description = f"{description} ({' | '.join(choices)})"
        descriptor.additional_constraints = f"one of: {', '.join(choices)}"
    return descriptor
