"""QoS matching between camera publishers and our subscription, as plain strings.

"Node runs, nothing comes out" is most often a reliable subscription on a best-effort camera
driver. The node asks ROS for the publishers' profiles and lets these functions decide which
reliability to subscribe with (``auto``) and which publishers can never reach it.
"""

from __future__ import annotations

from collections.abc import Iterable

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
