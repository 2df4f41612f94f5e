"""One way in for every selection: capture_node's ``select`` and `odet bag select` both give
their parameter values and the model's name here, and get the settings, the model's profile
(:mod:`odet_ros.selection.profile`) and the name and version the records carry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odet_ros.detection.bundle import model_identity
from odet_ros.errors import OdetError
from odet_ros.selection.profile import ModelProfile
from odet_ros.selection.selector import FrameSelector, SelectionSettings


@dataclass(frozen=True)
class ConfiguredSelection:
    settings: SelectionSettings
    profile: ModelProfile | None  # None: the selector calibrates on the first minutes
    model: tuple[str, str] = ("", "")  # name and version for the records
    warning: str = ""  # why the model's version or profile could not be read, if so

    def selector(self) -> FrameSelector:
        return FrameSelector(self.settings, self.profile)


def configure_selection(values: Mapping[str, Any], model: str | Path = "") -> ConfiguredSelection:
    """Settings from ``values`` (:meth:`SelectionSettings.from_values`), with the profile and
    identity of ``model`` (a bundle, bundle name or model file; empty: none). A model this
    machine cannot open is recorded by name, and the selector calibrates, as it does when the
    bundle's statistics cannot be read: said in ``warning``."""
    settings = SelectionSettings.from_values(values)
    if not str(model):
        return ConfiguredSelection(settings, None)
    try:
        identity = model_identity(model)
    except OdetError as error:
        warning = f"model {model}: {error}; recording its name only"
        return ConfiguredSelection(settings, None, (str(model), ""), warning)
    try:
        profile = ModelProfile.of_model(model)
    except OdetError as error:
        warning = f"{error}; what is usual comes from the first minutes of footage instead"
        return ConfiguredSelection(settings, None, identity, warning)
    return ConfiguredSelection(settings, profile, identity)
