"""The accuracy an export costs: the exported model and its source ``.pt`` scored on the same
images by odet's evaluation, through the detection core the robot runs."""

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

    def metrics(self) -> dict[str, float]:
        """The bundle's metrics: the exported model's figures, the source's mAP and the drop."""
        source = self.source.evaluation.summary
        return {
            **summary_metrics(self.exported.evaluation.summary),
            "source_map50": round(source.map50, 5),
            "source_map50_95": round(source.map50_95, 5),
            "map50_95_drop_points": self.drop_points,
        }

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
