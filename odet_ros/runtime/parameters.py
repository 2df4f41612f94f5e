"""Node parameters described without ROS: name, default, range, choices, description.

Each node has one table of :class:`ParameterSpec` (``runtime/*_parameters.py``), whose defaults,
ranges and choices are read off the core's own settings, so that a default lives in one place
whether a node, a params file or an ``odet`` flag uses it. ``odet_ros.nodes.parameters`` declares a
table on a node; :func:`check_choices` refuses a value outside a parameter's choices, the same way
for a launch file, a params file and ``ros2 param set``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from odet_ros.runtime.errors import ParameterError

Value = bool | int | float | str | list[str]


@dataclass(frozen=True)
class ParameterSpec:
    """One node parameter. ``default`` None declares a string array left unset (an empty list
    would be declared as a byte array); ``low``/``high`` bound numbers (rclpy enforces them),
    ``choices`` bound strings (:func:`check_choices` enforces them)."""

    name: str
    default: Value | None
    description: str
    low: float | None = None
    high: float | None = None
    step: int = 0
    choices: tuple[str, ...] = ()
    read_only: bool = False

    @property
    def help(self) -> str:
        """The description as ``ros2 param describe`` shows it, choices included."""
        if self.choices:
            return f"{self.description} ({' | '.join(self.choices)})"
        return self.description


def spec(
    name: str,
    default: Value | None,
    description: str,
    *,
    within: tuple[float, float] | None = None,
    step: int = 0,
    choices: Sequence[str] = (),
    read_only: bool = False,
) -> ParameterSpec:
    """A ParameterSpec, a number's range given as one ``within`` pair."""
    low, high = within if within is not None else (None, None)
    return ParameterSpec(name, default, description, low, high, step, tuple(choices), read_only)


def table(*specs: ParameterSpec) -> dict[str, ParameterSpec]:
    """Specs by name; a name given twice is a programming error."""
    by_name = {s.name: s for s in specs}
    if len(by_name) != len(specs):
        raise ValueError("a parameter is declared twice")
    return by_name


def check_choices(specs: Mapping[str, ParameterSpec], values: Mapping[str, Any]) -> None:
    """Raise ParameterError naming the first parameter whose value is not one of its choices."""
    for name, value in values.items():
        choices = specs[name].choices if name in specs else ()
        if choices and value not in choices:
            raise ParameterError(
                f"parameter {name} must be one of {', '.join(choices)}, not {value!r}"
            )


def markdown_table(specs: Mapping[str, ParameterSpec]) -> str:
    """The table as the reference documents it: a row per parameter with its default, range or
    choices, whether ``ros2 param set`` may change it, and its description."""
    rows = ["| parameter | default | range or choices | at run time | what it does |",
            "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for s in specs.values():
        default = f"`{_shown(s.default)}`" if s.default not in (None, "") else "unset"
        bounds = ", ".join(f"`{choice}`" for choice in s.choices)
        if s.low is not None and s.high is not None:
            bounds = f"{_shown(s.low)} .. {_shown(s.high)}"
        when = "fixed" if s.read_only else "yes"
        description = s.description.replace("|", r"\|")
        rows.append(f"| `{s.name}` | {default} | {bounds} | {when} | {description} |")
    return "\n".join(rows) + "\n"


def _shown(value: Value | float) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e6:
        return f"{value:.0e}"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def pick(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The subset of ``values`` named."""
    return {name: values[name] for name in names}
