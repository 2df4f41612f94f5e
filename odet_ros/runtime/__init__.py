"""What a live node needs besides ROS: the newest-frame slot and rate / latency statistics."""

from odet_ros.runtime.frame_detector import FrameDetector, FrameResult
from odet_ros.runtime.latest import LatestSlot
from odet_ros.runtime.stats import StreamStats, StreamSummary

__all__ = ["FrameDetector", "FrameResult", "LatestSlot", "StreamStats", "StreamSummary"]
