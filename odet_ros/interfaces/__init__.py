"""The ROS interfaces the core speaks without ROS: the shapes of the messages it reads and writes
(Protocols that rclpy's and rosbags' classes both fit), header stamps, and topic naming.

The lowest layer of the message side: imaging, depth, bags and messages import it; it imports
nothing of odet's.
"""

from odet_ros.interfaces.header import make_header, stamp_to_ns

__all__ = ["make_header", "stamp_to_ns"]
