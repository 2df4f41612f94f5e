"""Choosing the subscription's reliability and spotting publishers that can never match."""

import pytest

from odet_ros.runtime.qos import choose_reliability, incompatibility


@pytest.mark.parametrize(
    ("setting", "publishers", "expected"),
    [
        ("auto", [], "best_effort"),
        ("auto", ["reliable"], "reliable"),
        ("auto", ["reliable", "reliable"], "reliable"),
        ("auto", ["reliable", "best_effort"], "best_effort"),
        ("auto", ["best_effort"], "best_effort"),
        ("reliable", ["best_effort"], "reliable"),
        ("best_effort", ["reliable"], "best_effort"),
    ],
)
def test_choose_reliability(setting, publishers, expected):
    assert choose_reliability(setting, publishers) == expected


def test_unknown_setting_is_named():
    with pytest.raises(ValueError, match="qos_reliability"):
        choose_reliability("sometimes", [])


def test_incompatibility_matches_the_dds_rules():
    assert "best effort" in incompatibility("best_effort", "volatile", "reliable")
    assert incompatibility("reliable", "volatile", "best_effort") is None
    assert incompatibility("reliable", "transient_local", "reliable") is None
    assert "volatile" in incompatibility("reliable", "volatile", "reliable", "transient_local")
    assert incompatibility("reliable", "transient_local", "reliable", "transient_local") is None
