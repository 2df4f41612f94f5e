"""QoS matching between camera publishers and our subscription, as plain strings.

"Node runs, nothing comes out" is most often a reliable subscription on a best-effort camera
driver. The node asks ROS for the publishers' profiles and lets these functions decide which
reliability to subscribe with (``auto``) and which publishers can never reach it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

RELIABILITIES = ("best_effort", "reliable", "auto")


def choose_reliability(setting: str, publisher_reliabilities: Iterable[str]) -> str:
    """The reliability to subscribe with: the setting, or for ``auto`` what every publisher offers.

    ``auto`` subscribes reliable only when all publishers found are reliable, and best effort
    otherwise (best effort also hears reliable publishers, so nothing is lost by it).
    """
    if setting not in RELIABILITIES:
        raise ValueError(f"qos_reliability must be one of {RELIABILITIES}, not {setting!r}")
    if setting != "auto":
        return setting
    found = list(publisher_reliabilities)
    return "reliable" if found and all(r == "reliable" for r in found) else "best_effort"


def incompatibility(
    publisher_reliability: str,
    publisher_durability: str,
    subscription_reliability: str,
    subscription_durability: str = "volatile",
) -> str | None:
    """Why a publisher can never deliver to the subscription, or None when they match."""
    if publisher_reliability == "best_effort" and subscription_reliability == "reliable":
        return (
            "the publisher is best effort and this subscription is reliable: set "
            "qos_reliability to best_effort or auto"
        )
    if publisher_durability == "volatile" and subscription_durability == "transient_local":
        return "the publisher is volatile and this subscription is transient local"
    return None


@dataclass(frozen=True)
class PublisherQos:
    """A publisher found on the camera topic: who (``namespace/name``) and its QoS, as strings."""

    node: str
    reliability: str
    durability: str


@dataclass(frozen=True)
class QosReview:
    """What a review found: the reliability to (re)subscribe with now (None: leave the
    subscription as it is), and what to tell the user."""

    subscribe: str | None
    info: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class CameraQos:
    """The camera subscription's reliability over the node's life, reviewed as publishers come
    and go: ``auto`` waits for the first publisher, then matches (and drops to best effort when a
    best-effort publisher joins a reliable subscription); a publisher that can never reach the
    subscription is named once."""

    def __init__(self, setting: str, topic: str) -> None:
        if setting not in RELIABILITIES:
            raise ValueError(f"qos_reliability must be one of {RELIABILITIES}, not {setting!r}")
        self.setting = setting
        self.topic = topic
        self.reliability: str | None = None  # what the subscription has; None: not subscribed
        self._said: set[str] = set()

    def review(self, publishers: Iterable[PublisherQos]) -> QosReview:
        found = list(publishers)
        if self.setting == "auto" and not found:
            waiting = f"qos_reliability auto: waiting for a publisher on {self.topic}"
            return QosReview(None, info=self._first_time("waiting", waiting))
        wanted = choose_reliability(self.setting, (p.reliability for p in found))
        change = None if wanted == self.reliability else wanted
        self.reliability = wanted
        warnings: list[str] = []
        for publisher in found:
            reason = incompatibility(publisher.reliability, publisher.durability, wanted)
            if reason:
                message = (
                    f"publisher {publisher.node} on {self.topic} cannot reach this node: {reason}"
                )
                warnings += self._first_time(publisher.node, message)
        return QosReview(change, warnings=tuple(warnings))

    def forget(self) -> None:
        """The subscription is gone (the node was deactivated): the next review subscribes."""
        self.reliability = None

    def _first_time(self, key: str, message: str) -> tuple[str, ...]:
        if key in self._said:
            return ()
        self._said.add(key)
        return (message,)
