"""Published Ultralytics weights, fetched on request (``odet train --download``), checked, cached.

odet never downloads by default and never on the robot. With ``--download`` on a workstation,
Ultralytics' own downloader (``attempt_download_asset``: the official ``ultralytics/assets``
release its version pins) fetches a published asset such as ``yolo11n-seg.pt`` into
``~/.cache/odet/weights/<release>/`` (``$XDG_CACHE_HOME`` respected). The downloader checks
sizes, not contents, so odet checks the file's SHA-256 against the digest GitHub publishes for
the release asset (its releases API) and keeps it only if they agree; later runs find the file
and its recorded digest in the cache and reach no network.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
from pathlib import Path
from typing import Any

from odet_ros.atomic import write_text_atomic
from odet_ros.training.errors import TrainingError
from odet_ros.ultralytics_env import import_ultralytics

log = logging.getLogger(__name__)

RELEASE_API = "https://api.github.com/repos/{repo}/releases/tags/{release}"
DIGEST_SUFFIX = ".sha256"
TIMEOUT_S = 30


def cache_folder() -> Path:
    """Where fetched weights live: ``$XDG_CACHE_HOME/odet/weights`` (``~/.cache`` by default)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "odet" / "weights"


def fetch_weights(name: str, cache: Path | None = None) -> Path:
    """The local copy of the published asset ``name``, downloaded and checked if not cached."""
    import_ultralytics()
    from ultralytics.utils import downloads

    if Path(name).name != name or name not in downloads.GITHUB_ASSETS_NAMES:
        raise TrainingError(
            f"--download: {name!r} is not a published Ultralytics asset (yolo11n.pt,"
            " yolo11n-seg.pt, ...); give a local weights file or a model YAML instead"
        )
    release = str(inspect.signature(downloads.attempt_download_asset).parameters["release"].default)
    repo = downloads.GITHUB_ASSETS_REPO
    target = (cache or cache_folder()) / release / name
    recorded = target.with_name(target.name + DIGEST_SUFFIX)
    if target.is_file() and recorded.is_file() and _sha256(target) == recorded.read_text().strip():
        log.info("using %s (fetched earlier, SHA-256 checked)", target)
        return target
    expected = published_digest(repo, release, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    log.info("downloading %s of %s release %s into %s", name, repo, release, target.parent)
    try:
        fetched = Path(downloads.attempt_download_asset(str(target), repo=repo, release=release))
    except Exception as error:  # requests and Ultralytics raise their own types
        raise TrainingError(f"--download {name}: the download failed: {error}") from error
    if not fetched.is_file():
        raise TrainingError(f"--download {name}: Ultralytics' downloader left no file at {target}")
    actual = _sha256(fetched)
    if actual != expected:
        fetched.unlink()
        raise TrainingError(
            f"--download {name}: SHA-256 {actual} does not match the {expected} published for"
            f" {repo} {release}; the file was removed"
        )
    write_text_atomic(recorded, actual + "\n")
    return fetched


def published_digest(repo: str, release: str, name: str) -> str:
    """The SHA-256 GitHub publishes for a release asset (the ``digest`` of its releases API)."""
    import requests

    url = RELEASE_API.format(repo=repo, release=release)
    try:
        response = requests.get(url, timeout=TIMEOUT_S)
        response.raise_for_status()
        document: Any = response.json()
    except (requests.RequestException, json.JSONDecodeError) as error:
        raise TrainingError(f"--download {name}: cannot read {url}: {error}") from error
    assets = document.get("assets") if isinstance(document, dict) else None
    asset = next((a for a in assets or [] if isinstance(a, dict) and a.get("name") == name), None)
    if asset is None:
        raise TrainingError(f"--download {name}: {repo} release {release} has no asset {name}")
    digest = str(asset.get("digest") or "")
    algorithm, _, value = digest.partition(":")
    if algorithm != "sha256" or len(value) != 64:
        raise TrainingError(
            f"--download {name}: {url} publishes no SHA-256 for it ({digest or 'no digest'}):"
            " it cannot be checked; fetch the file by hand and pass its path"
        )
    return value.lower()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
