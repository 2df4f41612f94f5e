"""`odet dataset export-labels`: the dataset's labels in a labelling tool's format."""

from __future__ import annotations

from pathlib import Path

from odet_ros.dataset.annotations import read_dataset_labels
from odet_ros.dataset.layout import Dataset
from odet_ros.labels.formats import label_format, write_labels
from odet_ros.labels.labelstudio import LOCAL_FILES


def export_labels(
    dataset: Dataset,
    format_name: str,
    out: str | Path,
    *,
    image_prefix: str = LOCAL_FILES,
    model_version: str = "odet",
    progress: bool = False,
) -> list[Path]:
    """Write every image's labels (pre-labels as predictions where the format has them);
    ``image_prefix`` is the URL Label Studio finds ``images/`` under. Returns the files."""
    label_format(format_name)  # an unknown name fails before the dataset is read
    labels = read_dataset_labels(dataset, progress)
    options = {}
    if format_name == "labelstudio":
        options = {"image_prefix": image_prefix, "model_version": model_version}
    return write_labels(format_name, labels, out, **options)
