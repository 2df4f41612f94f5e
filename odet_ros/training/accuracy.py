"""The accuracy an export costs: the exported model and its source ``.pt`` scored on the same
images by odet's evaluation, through the detection core the robot runs (a segmentation model's
masks as well as its boxes, where the split is labelled with outlines)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odet_ros.evaluation.metrics import DEFAULT_CONF
from odet_ros.evaluation.runner import ModelEvaluation, evaluate_models
from odet_ros.training.bundles import summary_metrics
from odet_ros.training.data import TrainingDataset

DEFAULT_MAX_DROP = 2.0  # mAP50-95 points


@dataclass(frozen=True)
class ExportAccuracy:
    exported: ModelEvaluation
    source: ModelEvaluation

    @property
    def drop_points(self) -> float:
        """mAP50-95 lost to the export, in points (100 x the difference); negative if gained."""
        source = self.source.evaluation.summary.map50_95
        exported = self.exported.evaluation.summary.map50_95
        return round(100.0 * (source - exported), 3)

    @property
    def mask_drop_points(self) -> float | None:
        """Mask mAP50-95 lost to the export, in points; None without mask scores."""
        if self.source.masks is None or self.exported.masks is None:
            return None
        source = self.source.masks.summary.map50_95
        return round(100.0 * (source - self.exported.masks.summary.map50_95), 3)

    @property
    def worst_drop_points(self) -> float:
        """The larger of the box and mask drops (what ``--max-drop`` is held to)."""
        mask = self.mask_drop_points
        return self.drop_points if mask is None else max(self.drop_points, mask)

    def metrics(self) -> dict[str, float]:
        """The bundle's metrics: the exported model's figures, the source's mAP and the drop;
        for masks the same with ``mask_`` in front."""
        source = self.source.evaluation.summary
        figures = {
            **summary_metrics(self.exported.evaluation.summary),
            "source_map50": round(source.map50, 5),
            "source_map50_95": round(source.map50_95, 5),
            "map50_95_drop_points": self.drop_points,
        }
        mask_drop = self.mask_drop_points
        if mask_drop is not None and self.exported.masks and self.source.masks:
            exported = summary_metrics(self.exported.masks.summary)
            figures |= {f"mask_{name}": value for name, value in exported.items()}
            figures |= {
                "source_mask_map50_95": round(self.source.masks.summary.map50_95, 5),
                "mask_map50_95_drop_points": mask_drop,
            }
        return figures

    def describe(self) -> dict[str, Any]:
        """Where and how the metrics were measured."""
        return {
            "split": self.exported.split,
            "mode": self.exported.evaluation.mode,
            "conf": self.exported.evaluation.conf,
            "images": self.exported.evaluation.images,
            "inference_ms": round(self.exported.inference_ms, 3),
            "backend": self.exported.backend,
            "source": {
                "model": str(self.source.model_file),
                "backend": self.source.backend,
                "inference_ms": round(self.source.inference_ms, 3),
            },
        }


def measure_export(
    bundle: Path,
    weights: Path,
    dataset: TrainingDataset,
    input_hw: tuple[int, int],
    device: str = "cpu",
) -> ExportAccuracy:
    """Evaluate the bundle and the weights it came from on the dataset's test split (val when it
    has none), in one pass over the images, the weights at the export's input size."""
    exported, source = evaluate_models(
        [bundle, weights],
        dataset.yaml_file,
        dataset.evaluation_split,
        conf=DEFAULT_CONF,
        imgsz=input_hw,
        device=device,
    )
    return ExportAccuracy(exported, source)
