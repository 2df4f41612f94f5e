"""Evaluation of a detector on a labelled dataset split: mAP, precision, recall, F1, confusion.

:func:`evaluate_detections` scores predictions against ground truth in COCO mode (COCOeval's
protocol, the default) or Ultralytics mode (what ``yolo val`` prints); :func:`evaluate_model`
runs a model through the detection core over a dataset split first. :func:`write_report` writes
the JSON, PNG plots and HTML page; :func:`compare` sets two evaluations side by side.
"""

from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.reader import GroundTruth, load_split
from odet_ros.evaluation.compare import Comparison, compare
from odet_ros.evaluation.errors import EvaluationError
from odet_ros.evaluation.metrics import Evaluation, evaluate_detections
from odet_ros.evaluation.report import write_comparison, write_report
from odet_ros.evaluation.runner import ModelEvaluation, evaluate_model, evaluate_models

__all__ = [
    "Comparison",
    "DatasetError",
    "Evaluation",
    "EvaluationError",
    "GroundTruth",
    "ModelEvaluation",
    "compare",
    "evaluate_detections",
    "evaluate_model",
    "evaluate_models",
    "load_split",
    "write_comparison",
    "write_report",
]
