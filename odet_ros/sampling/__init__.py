"""Frame sampling for dataset collection: quality figures and a per-stream sampler (no ROS)."""

from odet_ros.sampling.quality import FrameQuality, assess
from odet_ros.sampling.sampler import Counters, Decision, FrameSampler, Reason, SamplerSettings

__all__ = [
    "Counters",
    "Decision",
    "FrameQuality",
    "FrameSampler",
    "Reason",
    "SamplerSettings",
    "assess",
]
