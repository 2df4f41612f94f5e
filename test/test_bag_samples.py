"""The typestore the bag tests rest on: our vision_msgs definitions hash exactly as ROS's generated
code, and the sample messages (test/support/bags.py) survive a CDR round trip."""

from __future__ import annotations

import pytest
from support.bags import SAMPLES, SECOND, TYPESTORE, assert_same_fields

from odet_ros.bags import BagError, make_typestore

# RIHS01 type hashes from rosidl's generated C code for vision_msgs 4.x (Jazzy build).
ROS_TYPE_HASHES = {
    "Detection2DArray": "214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968",
    "Detection2D": "0d12b69df5c593b3455b7346fac8205437a7d4bcb09b9e0e0b2dde787ded38ea",
    "BoundingBox2D": "008eacbb0cf8f26e83795547bed013eec3675485ef386ec056d80eaaf1c1ce2f",
    "ObjectHypothesis": "51da43cec11c01957a64d1e05a24acd18aae7745ec30b74348ad5f6d634f7f90",
    "ObjectHypothesisWithPose": "41c12344c0396c48b81df12467c192d99b2a0eb1463c5c37194e4223251c80bc",
    "Point2D": "eab0e83f44ab4de92ceaf76dd7d0e7638f2bdd1d16ffbe16c7a136c48e407247",
    "Pose2D": "b0b5d1d7b4c20dd4fcde3ed1d4b289a919290572007d67a97043814db25d3648",
    "LabelInfo": "3d37df4015cdf660cc851c51897f2acd957e1ca6205ba0a99aebffb9406b0783",
    "VisionClass": "1e4a11f0fed50b5623cb8ff26ca0e37952a48a9c074d16f804b44e9164c2037a",
    "Detection3DArray": "793f5eab9595ac1c0da07873cc859db42eae51f0ee76056db8562515d830e018",
    "Detection3D": "ddd703be132ab0b69d33121f1bb034132bfbb3b0ac5f9fb1516005ba1c8a265b",
    "BoundingBox3D": "bbb73a65c163d7f9bb29009c7bde9f7faa576bd2d23299c4511d19230dab4698",
}


# The same for foxglove_msgs 3.1.0 (share/foxglove_msgs/msg/*.json of the Jazzy build): the
# definitions odet ships are the ones Foxglove publishes.
FOXGLOVE_TYPE_HASHES = {
    "ImageAnnotations": "47c6c0891ba263ec1b20d9b785c4261d4bc41051cbcc01668130e36aa2dcaee3",
    "PointsAnnotation": "61bd8dda01243d9c7232f00d9101577291b5a9bc1855b06ada4a29e0dc0496a7",
    "TextAnnotation": "c02ec64b79eb5682e73b2b2572f127a27baec868b6ad6acc085abc39355a5b2b",
    "CircleAnnotation": "d3d8a00505117be541fe8b4b601aa90d5088209a75f313e3779be54db324d15b",
    "Point2": "d85e823b78e2e88bc31629e305558bcdd2ecc9225f5f9390f96d91930f5696f0",
    "Color": "ed1b16da40c954e6456b950c2ef4559c179e5cb98f1363cb28c3b90c6ee14120",
}


@pytest.mark.parametrize("distro", ["humble", "jazzy"])
@pytest.mark.parametrize(
    ("package", "hashes"),
    [("vision_msgs", ROS_TYPE_HASHES), ("foxglove_msgs", FOXGLOVE_TYPE_HASHES)],
)
def test_shipped_messages_hash_like_ros_generated_code(distro, package, hashes):
    typestore = make_typestore(distro)
    for name, digest in hashes.items():
        assert typestore.hash_rihs01(f"{package}/msg/{name}") == f"RIHS01_{digest}", name


def test_typestore_is_cached_per_distro():
    assert make_typestore("humble") is make_typestore()
    assert make_typestore("jazzy") is not make_typestore("humble")


def test_unknown_distro_is_a_clear_error():
    with pytest.raises(BagError, match=r"unknown ROS distro 'foxy'.*humble, jazzy"):
        make_typestore("foxy")


def test_samples_survive_a_cdr_round_trip():
    for msgtype, build in SAMPLES.values():
        msg = build(3 * SECOND + 7)
        again = TYPESTORE.deserialize_cdr(TYPESTORE.serialize_cdr(msg, msgtype), msgtype)
        assert_same_fields(msg, again)
