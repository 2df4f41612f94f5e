"""Write a whole folder (a model bundle) so that nobody ever sees half of it.

The folder is built under a hidden temporary name beside its destination and renamed into place
when complete; a failure removes the temporary folder and leaves any older destination as it was.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from odet_ros.errors import OdetError


@contextlib.contextmanager
def staged_folder(
    destination: Path, error: type[OdetError], *, replace: bool = False
) -> Iterator[Path]:
    """Yield an empty folder that becomes ``destination`` once the block succeeds.

    An existing ``destination`` is an ``error`` unless ``replace``; then it is swapped out only
    after the new folder is complete.
    """
    if destination.exists() and not replace:
        raise error(f"{destination} already exists (pass --force to replace it)")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    )
    try:
        yield staging
        _move_into_place(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_into_place(staging: Path, destination: Path) -> None:
    if not destination.exists():
        staging.rename(destination)
        return
    retired = staging.with_name(f"{staging.name}.old")
    destination.rename(retired)
    staging.rename(destination)
    shutil.rmtree(retired, ignore_errors=True)
