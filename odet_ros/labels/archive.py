"""Zip archives of label exports, unpacked only when no member can land outside the target.

Every member is checked before anything is written: absolute names (``/x``, ``C:\\x``), names
climbing out with ``..`` and symbolic links are refused, so a hostile or broken archive writes
nothing at all.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from odet_ros.labels.errors import LabelFormatError


def unsafe_member(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be extracted, or None."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a path leaving the archive with '..'"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


def extract_zip(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into the folder ``target`` after checking every member."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            for info in members:
                if reason := unsafe_member(info):
                    raise LabelFormatError(
                        f"{archive}: member {info.filename!r} is {reason}; nothing extracted"
                    )
            for info in members:
                destination = target.joinpath(
                    *PurePosixPath(info.filename.replace("\\", "/")).parts
                )
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as source, destination.open("wb") as sink:
                    while chunk := source.read(1 << 20):
                        sink.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise LabelFormatError(f"{archive}: not a readable zip archive ({error})") from None
