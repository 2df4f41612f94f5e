"""rosbags typestores for the distros we target, with vision_msgs 4.x registered.

Neither ROS distro store in rosbags knows vision_msgs (it is not a core package), so the
definitions ship with odet_ros as .msg files (``msg/vision_msgs/msg``) and are registered at run
time: bags with detections can be written and read on a machine without ROS.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import TYPE_CHECKING

from rosbags.interfaces import MessageDefinitionFormat
from rosbags.typesys import Stores, TypesysError, get_types_from_idl, get_types_from_msg
from rosbags.typesys import get_typestore as _rosbags_typestore
from rosbags.typesys.store import Typestore

from odet_ros.bags.errors import BagError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rosbags.interfaces import Connection
    from rosbags.interfaces.typing import Typesdict

DISTROS: dict[str, Stores] = {"humble": Stores.ROS2_HUMBLE, "jazzy": Stores.ROS2_JAZZY}
IDL_SEPARATOR = "=" * 80 + "\n"


def shipped_types() -> Typesdict:
    """Parse every .msg file shipped under odet_ros/bags/msg/<package>/msg/."""
    root = files(__package__).joinpath("msg")
    typs: Typesdict = {}
    for package in root.iterdir() if root.is_dir() else ():
        for definition in package.joinpath("msg").iterdir():
            if definition.name.endswith(".msg"):
                name = f"{package.name}/msg/{definition.name.removesuffix('.msg')}"
                typs.update(get_types_from_msg(definition.read_text(encoding="utf-8"), name))
    if not typs:
        raise BagError(f"no .msg definitions in {root}: odet_ros is installed without its data")
    return typs


def make_typestore(distro: str = "humble") -> Typestore:
    """The rosbags store of ``distro`` plus vision_msgs 4.x; cached, so treat it as read-only."""
    if distro not in DISTROS:
        known = ", ".join(DISTROS)
        raise BagError(f"unknown ROS distro {distro!r}: choose one of {known}")
    return _cached_typestore(distro)


@functools.cache
def _cached_typestore(distro: str) -> Typestore:
    typestore = _rosbags_typestore(DISTROS[distro])
    typestore.register(shipped_types())
    return typestore


def types_from_connection(connection: Connection) -> Typesdict:
    """The type definitions a bag carries for one connection (none for old sqlite3 bags)."""
    msgdef = connection.msgdef
    if msgdef.format == MessageDefinitionFormat.MSG:
        return get_types_from_msg(msgdef.data, connection.msgtype)
    if msgdef.format == MessageDefinitionFormat.IDL:
        typs: Typesdict = {}
        if msgdef.data.startswith(f"{IDL_SEPARATOR}IDL: "):
            for block in msgdef.data.split(IDL_SEPARATOR)[1:]:
                typs.update(get_types_from_idl(block.split("\n", 1)[1]))
        else:
            typs.update(get_types_from_idl(msgdef.data))
        return typs
    return {}


def typestore_for(connections: Iterable[Connection], base: Typestore, bag: str) -> Typestore:
    """A copy of ``base`` that also knows the types the bag defines and ``base`` lacks.

    Registering the bag's definitions also checks them against ``base``: a bag whose message
    layout differs (e.g. vision_msgs 3.x from Galactic) is refused instead of decoded to garbage.
    """
    store = Typestore()
    store.fielddefs.update(base.fielddefs)
    store.types.update(base.types)
    for connection in connections:
        try:
            store.register(types_from_connection(connection))
        except TypesysError as error:
            raise BagError(
                f"{bag}: topic {connection.topic} ({connection.msgtype}) has a message layout"
                f" this reader cannot use: {error}"
            ) from None
    return store
