"""rosbag2 without ROS: read sqlite3/mcap bags (also cut-short ones), write mcap bags.

Built on rosbags; vision_msgs 4.x is registered from .msg files shipped in this package.
"""

from odet_ros.bags.errors import BagError
from odet_ros.bags.info import BagInfo, TopicInfo, bag_info
from odet_ros.bags.reader import BagMessage, BagReader, BagTopic, open_bags, read_messages
from odet_ros.bags.typestore import DISTROS, make_typestore
from odet_ros.bags.writer import BagWriter

__all__ = [
    "DISTROS",
    "BagError",
    "BagInfo",
    "BagMessage",
    "BagReader",
    "BagTopic",
    "BagWriter",
    "TopicInfo",
    "bag_info",
    "make_typestore",
    "open_bags",
    "read_messages",
]
