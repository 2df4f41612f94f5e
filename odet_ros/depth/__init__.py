"""Where the objects are: 3D positions and sizes from detection boxes and an aligned depth image.

ROS-free: the detector node, `odet detect --depth-topic` and the tests share it. See
:func:`locate_objects` for how a box becomes a position, and why.
"""

from odet_ros.depth.errors import DepthError
from odet_ros.depth.images import depth_image, depth_meters
from odet_ros.depth.intrinsics import Intrinsics
from odet_ros.depth.locate import LocateSettings, Objects3D, locate_objects
from odet_ros.depth.options import DepthOptions
from odet_ros.depth.pairing import DepthBuffer, OfflinePairer
from odet_ros.depth.transform import Transform

__all__ = [
    "DepthBuffer",
    "DepthError",
    "DepthOptions",
    "Intrinsics",
    "LocateSettings",
    "Objects3D",
    "OfflinePairer",
    "Transform",
    "depth_image",
    "depth_meters",
    "locate_objects",
]
