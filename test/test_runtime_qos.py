"""Choosing the subscription's reliability and spotting publishers that can never match."""

import pytest

from odet_ros.runtime.qos import CameraQos, PublisherQos, choose_reliability, incompatibility


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


def _publishers(*reliabilities: str) -> list[PublisherQos]:
    return [PublisherQos(f"/driver{i}", r, "volatile") for i, r in enumerate(reliabilities)]


def test_auto_waits_then_matches_and_drops_to_best_effort_when_one_joins():
    qos = CameraQos("auto", "/cam/image_raw")
    waiting = qos.review([])
    assert (
        waiting.subscribe is None and "waiting for a publisher on /cam/image_raw" in waiting.info[0]
    )
    assert qos.review([]).info == ()  # said once
    assert qos.review(_publishers("reliable")).subscribe == "reliable"
    assert qos.review(_publishers("reliable")).subscribe is None  # nothing to change
    assert qos.review(_publishers("reliable", "best_effort")).subscribe == "best_effort"
    qos.forget()  # deactivated: the next review subscribes again
    assert qos.review(_publishers("reliable", "best_effort")).subscribe == "best_effort"


def test_a_publisher_that_cannot_reach_the_subscription_is_named_once():
    qos = CameraQos("reliable", "/cam/image_raw")
    first = qos.review(_publishers("best_effort"))
    assert first.subscribe == "reliable"
    assert "publisher /driver0 on /cam/image_raw cannot reach this node" in first.warnings[0]
    assert qos.review(_publishers("best_effort")).warnings == ()


def test_an_unknown_reliability_setting_is_refused():
    with pytest.raises(ValueError, match="qos_reliability"):
        CameraQos("sometimes", "/cam")
