"""detector_node's parameter checks, without ROS."""

import pytest

from odet_ros.detection.backends import BACKEND_CHOICES
from odet_ros.detection.errors import SettingError
from odet_ros.runtime.detector_options import CHOICES, backend_argument, check_choices


def test_every_backend_name_the_loader_takes_is_a_choice():
    assert set(BACKEND_CHOICES) | {"auto"} == set(CHOICES["backend"].choices)
    assert "litert" in CHOICES["backend"].choices  # the name the node logs


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("backend", "tensorflow"),
        ("image_transport", "theora"),
        ("qos_reliability", "sometimes"),
        ("class_id_format", "number"),
        ("tracker", "sort"),
    ],
)
def test_a_value_outside_the_choices_names_the_parameter(name, value):
    with pytest.raises(SettingError, match=f"parameter {name} must be one of .*{value}"):
        check_choices({name: value})


def test_valid_values_and_other_parameters_pass():
    check_choices({name: choice.choices[0] for name, choice in CHOICES.items()})
    check_choices({"conf_threshold": 0.3, "model": "anything"})


def test_auto_backend_lets_the_suffix_decide():
    assert backend_argument("auto") is None
    assert backend_argument("litert") == "litert"
