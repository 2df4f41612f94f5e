"""sensor_msgs Image / CompressedImage <-> numpy without cv_bridge, for rclpy and rosbags messages.

Decoding follows cv_bridge and image_transport where they define the answer: Bayer pattern
names, ``yuv422`` = UYVY, 16-to-8-bit scaling, compressed format strings, compressedDepth.
"""

from odet_ros.imaging.compressed import compressed_to_numpy, numpy_to_compressed
from odet_ros.imaging.dispatch import to_numpy
from odet_ros.imaging.encodings import ENCODINGS
from odet_ros.imaging.errors import ImageConversionError
from odet_ros.imaging.raw import image_to_numpy, numpy_to_image

__all__ = [
    "ENCODINGS",
    "ImageConversionError",
    "compressed_to_numpy",
    "image_to_numpy",
    "numpy_to_compressed",
    "numpy_to_image",
    "to_numpy",
]
