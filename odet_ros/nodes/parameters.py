"""A node's parameter table (:mod:`odet_ros.runtime.parameters`) declared on an rclpy node, with
the descriptors `ros2 param describe` shows, and read back as plain values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterUninitializedException
from rclpy.node import Node
from rclpy.parameter import Parameter

from odet_ros.runtime.parameters import ParameterSpec


def descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    """rclpy itself rejects numbers outside the range; choices are listed for the user and
    checked by the node (``check_choices``)."""
    described = ParameterDescriptor(description=spec.help, read_only=spec.read_only)
    if spec.low is not None and spec.high is not None:
        if isinstance(spec.default, float):
            described.floating_point_range = [
                FloatingPointRange(from_value=float(spec.low), to_value=float(spec.high), step=0.0)
            ]
        else:
            described.integer_range = [
                IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=spec.step)
            ]
    if spec.choices:
        described.additional_constraints = f"one of: {', '.join(spec.choices)}"
    return described


def declare(node: Node, specs: Mapping[str, ParameterSpec]) -> None:
    """Declare every parameter of the table; a string array without a default is declared by
    its type (an empty list would become a byte array) and reads as None until set."""
    for spec in specs.values():
        value = Parameter.Type.STRING_ARRAY if spec.default is None else spec.default
        node.declare_parameter(spec.name, value, descriptor(spec))


def values(
    node: Node, names: Iterable[str], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The parameters' values, ``overrides`` (a change being validated) first; None for a typed
    parameter left unset, which rclpy's get_parameter refuses to read."""
    read: dict[str, Any] = {}
    for name in names:
        if overrides is not None and name in overrides:
            read[name] = overrides[name]
            continue
        try:
            read[name] = node.get_parameter(name).value
        except ParameterUninitializedException:
            read[name] = None
    return read
