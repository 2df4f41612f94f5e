"""`odet train --download`: a published weights file fetched by Ultralytics' own downloader,
checked against the SHA-256 GitHub publishes for it, cached, and never fetched otherwise. Only
the network boundary is replaced: every HTTP request requests sends is answered here, with the
tiny segmentation model standing in for the published yolo11n-seg.pt."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

pytest.importorskip("ultralytics")

import requests
import urllib3

from odet_ros.cli.main import main
from odet_ros.detection import ModelBundle
from odet_ros.errors import OdetError
from odet_ros.training.download import cache_folder, fetch_weights

NAME = "yolo11n-seg.pt"


class Network:
    """The HTTP requests odet and Ultralytics send, answered: the releases API with the asset's
    digest, and the asset itself."""

    def __init__(self, asset: bytes, digest: str | None) -> None:
        self.asset, self.digest, self.urls = asset, digest, []

    def send(self, adapter, request, **kwargs):
        self.urls.append(request.url)
        if request.url.startswith("https://api.github.com/repos/ultralytics/assets/releases/tags/"):
            entry = {"name": NAME, "size": len(self.asset)}
            if self.digest is not None:
                entry["digest"] = self.digest
            body = json.dumps({"tag_name": request.url.rsplit("/", 1)[1], "assets": [entry]})
            status, data = 200, body.encode()
        elif request.url.endswith(f"/releases/download/{self.release(request)}/{NAME}"):
            status, data = 200, self.asset
        else:
            status, data = 404, b"not found"
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(data),
            headers={"Content-Length": str(len(data))},
            status=status,
            preload_content=False,
            decode_content=False,
        )
        return adapter.build_response(request, raw)

    @staticmethod
    def release(request) -> str:
        return request.url.split("/releases/download/")[-1].split("/")[0]


@pytest.fixture
def network(monkeypatch, tmp_path, tiny_seg_models):
    asset = tiny_seg_models.model("seg.pt").read_bytes()
    fake = Network(asset, f"sha256:{hashlib.sha256(asset).hexdigest()}")
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter,
        "send",
        lambda adapter, request, **kwargs: fake.send(adapter, request, **kwargs),  # noqa: PLW0108 (a bound method would not get the adapter)
    )
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return fake


def test_fetched_once_checked_and_cached(network, tmp_path):
    path = fetch_weights(NAME)
    assert path.parent.parent == cache_folder() == tmp_path / "cache" / "odet" / "weights"
    assert path.read_bytes() == network.asset
    assert len(network.urls) == 2  # the release's digests, then the file
    assert network.urls[0].startswith("https://api.github.com/repos/ultralytics/assets/releases")
    assert network.urls[1].startswith("https://github.com/ultralytics/assets/releases/download/")
    assert fetch_weights(NAME) == path and len(network.urls) == 2  # the cache: no network


def test_a_file_that_does_not_match_its_digest_is_removed(network):
    network.digest = "sha256:" + "0" * 64
    with pytest.raises(OdetError, match=r"SHA-256 [0-9a-f]{64} does not match the 0{64}"):
        fetch_weights(NAME)
    assert not list(cache_folder().rglob(NAME))
    network.digest = None
    with pytest.raises(OdetError, match="publishes no SHA-256 for it"):
        fetch_weights(NAME)
    with pytest.raises(OdetError, match="not a published Ultralytics asset"):
        fetch_weights("my_model.pt")


@pytest.mark.slow
def test_odet_train_downloads_only_when_asked(network, tmp_path, tiny_seg_models, capsys):
    arguments = [
        "train", "--data", str(tiny_seg_models.data_yaml), "--model", NAME, "--epochs", "1",
        "--imgsz", "64", "--batch", "8", "--workers", "0", "--device", "cpu",
        "--project", str(tmp_path / "runs"), "--name", "fetched", "--no-tensorboard",
    ]  # fmt: skip
    assert main(arguments) == 1  # without --download: refused, nothing fetched
    assert "pass --download" in capsys.readouterr().err and network.urls == []
    assert main([*arguments, "--download"]) == 0
    bundle = ModelBundle.load(tmp_path / "runs" / "fetched" / "bundle")
    source = bundle.provenance["training"]["source_model"]
    assert source == str(fetch_weights(NAME))
    # fetched once: the release's digests and the file (Ultralytics also asks for a plot font)
    assert sum(NAME in url for url in network.urls) == 1
    assert sum("api.github.com" in url for url in network.urls) == 1
    assert {"mask_map50", "mask_map50_95"} <= set(bundle.metrics)
