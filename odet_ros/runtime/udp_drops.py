"""Whether the kernel is dropping UDP datagrams for want of socket receive buffer.

A 640x480 image is about 60 UDP datagrams over DDS; when a burst of them overflows the receiving
socket's buffer (Linux's default is 208 KiB, Cyclone DDS asks for 1 MiB), a best-effort
subscription loses the whole image, without an error anywhere. A detector serving two cameras
published at the same instant lost every frame of the second one this way (bench/node.py).
The kernel counts these drops (``RcvbufErrors`` in ``/proc/net/snmp``, for all processes):
:class:`UdpDropWatch` turns a growing count into one warning that says what to change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

SNMP = Path("/proc/net/snmp")
WARN_PERIOD_S = 60.0  # at most one warning a minute


def receive_buffer_errors(snmp: str) -> int | None:
    """The ``Udp: RcvbufErrors`` counter of ``/proc/net/snmp`` text; None where it has none."""
    rows = [line.split()[1:] for line in snmp.splitlines() if line.startswith("Udp:")]
    if len(rows) < 2 or "RcvbufErrors" not in rows[0]:
        return None
    names, values = rows[0], rows[1]
    try:
        return int(values[names.index("RcvbufErrors")])
    except (IndexError, ValueError):
        return None


def read_snmp() -> str | None:
    """``/proc/net/snmp``, or None off Linux."""
    try:
        return SNMP.read_text()
    except OSError:
        return None


class UdpDropWatch:
    """Compares the kernel's count at each :meth:`check` with the last one."""

    def __init__(self, source: Callable[[], str | None] = read_snmp) -> None:
        self._source = source
        self._last: int | None = None
        self._since: float | None = None
        self._warned_at: float | None = None

    def check(self, now: float) -> str | None:
        """A warning when datagrams were dropped since the last warning (or the start), at
        most once per WARN_PERIOD_S; None otherwise."""
        text = self._source()
        count = receive_buffer_errors(text) if text is not None else None
        if count is None:
            return None
        if self._last is None or self._since is None:
            self._last, self._since = count, now
            return None
        if self._warned_at is not None and now - self._warned_at < WARN_PERIOD_S:
            return None
        dropped, seconds = count - self._last, now - self._since
        self._last, self._since = count, now
        if dropped <= 0:
            return None
        self._warned_at = now
        return (
            f"the kernel dropped {dropped} UDP datagrams in the last {seconds:.0f} s for want of"
            " socket receive buffer (on this machine, any process): images over DDS arrive"
            " incomplete and are lost without a word. Raise net.core.rmem_max and Cyclone DDS's"
            " SocketReceiveBufferSize (docs/troubleshooting.md, 'Frames go missing')"
        )
