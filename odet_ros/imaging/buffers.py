"""The ``uint8[] data`` field of rclpy and rosbags messages, read without copying and written fast.

rclpy messages hold ``array.array('B')``; rosbags messages (dataclasses) hold a uint8 numpy array,
often a read-only view into the bag's bytes. Both export the buffer protocol, so reading is a
zero-copy ``np.frombuffer``. For writing, rclpy's setter keeps an ``array.array('B')`` as given but
checks every element of anything else (seconds per frame for a list or bytes), so each message
class gets the container it stores without a per-element pass.
"""

from __future__ import annotations

import array
import dataclasses

import numpy as np

from odet_ros.imaging.errors import ImageConversionError


def message_bytes(data: object, what: str) -> np.ndarray:
    """``data`` as a 1-D uint8 array, sharing its memory wherever the container allows."""
    if isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 1:
        return data if data.flags.c_contiguous else np.ascontiguousarray(data)
    try:
        return np.frombuffer(data, dtype=np.uint8)  # type: ignore[call-overload,no-any-return]  # any buffer
    except (TypeError, ValueError):
        pass
    try:
        return np.array(data, dtype=np.uint8).reshape(-1)
    except (TypeError, ValueError, OverflowError) as error:
        raise ImageConversionError(
            f"{what}: data of type {type(data).__name__} is not a byte sequence"
        ) from error


def byte_field(msg_type: object, payload: np.ndarray) -> np.ndarray | array.array[int]:
    """A fresh copy of ``payload``'s bytes in the container ``msg_type`` stores for uint8[].

    rosbags classes are dataclasses and take a uint8 ndarray; rclpy classes take array('B').
    """
    flat = np.ascontiguousarray(payload).reshape(-1).view(np.uint8)
    if dataclasses.is_dataclass(msg_type):
        copied: np.ndarray = flat.copy()
        return copied
    field = array.array("B")
    field.frombytes(flat)  # type: ignore[arg-type]
    return field
