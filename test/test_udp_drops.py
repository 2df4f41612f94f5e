"""The warning about UDP datagrams the kernel drops for want of receive buffer."""

from odet_ros.runtime.udp_drops import UdpDropWatch, read_snmp, receive_buffer_errors

HEADER = (
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors"
    " IgnoredMulti MemErrors\n"
)


def snmp(errors: int) -> str:
    return f"Ip: Forwarding\nIp: 1\n{HEADER}Udp: 1004362 133191 {errors} 1153464 {errors} 0 0 0 0\n"


def test_the_counter_is_read_by_its_name():
    assert receive_buffer_errors(snmp(14152)) == 14152
    assert receive_buffer_errors("Udp: InDatagrams\nUdp: 5\n") is None  # an older kernel
    assert receive_buffer_errors("") is None


def test_this_machine_has_the_counter():
    text = read_snmp()
    assert text is None or receive_buffer_errors(text) is not None


def test_drops_give_one_warning_a_minute_and_a_quiet_kernel_none():
    counts = iter([100, 100, 160, 900, 900, 950, 950, 950])
    watch = UdpDropWatch(lambda: snmp(next(counts)))
    assert watch.check(0.0) is None  # the baseline
    assert watch.check(1.0) is None  # nothing dropped
    warning = watch.check(2.0)
    assert warning is not None and "dropped 60 UDP datagrams in the last 1 s" in warning
    assert "SocketReceiveBufferSize" in warning and "net.core.rmem_max" in warning
    assert watch.check(30.0) is None  # 740 more, but warned less than a minute ago
    held_back = watch.check(63.0)  # the minute is over: what was held back is told
    assert held_back is not None and "dropped 740 UDP datagrams in the last 61 s" in held_back
    assert watch.check(70.0) is None  # within the minute again
    later = watch.check(130.0)
    assert later is not None and "dropped 50 UDP datagrams in the last 67 s" in later
    assert watch.check(200.0) is None  # the count no longer grows


def test_without_proc_no_warning():
    assert UdpDropWatch(lambda: None).check(0.0) is None
