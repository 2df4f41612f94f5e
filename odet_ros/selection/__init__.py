"""Capture driven by the deployed model: which frames are worth labelling (unsure, unstable,
novel), within a budget, and the record each kept frame carries (its reasons and pre-labels)."""

from odet_ros.selection.budget import Budget
from odet_ros.selection.records import SELECTION_TOPIC, SELECTION_TYPE, SelectionRecord
from odet_ros.selection.selector import (
    DEFAULT_SELECTION,
    REASONS,
    FrameSelector,
    Selection,
    SelectionSettings,
    parse_reasons,
)

__all__ = [
    "DEFAULT_SELECTION",
    "REASONS",
    "SELECTION_TOPIC",
    "SELECTION_TYPE",
    "Budget",
    "FrameSelector",
    "Selection",
    "SelectionRecord",
    "SelectionSettings",
    "parse_reasons",
]
