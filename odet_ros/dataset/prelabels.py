"""prelabels.json: which label files a model wrote and no person has reviewed yet.

Ultralytics label files hold no score column (a sixth value makes it reject the file), so the
scores live here, by label file name: ``{"<stem>.txt": {"model": ..., "scores": [...]}}``.
``odet label`` adds entries; ``odet dataset import`` removes those of the images it labels;
``odet dataset check`` warns while any are left; exports hand them to the tools as predictions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odet_ros.atomic import write_text_atomic
from odet_ros.dataset.errors import DatasetError
from odet_ros.dataset.layout import Dataset


@dataclass
class Prelabels:
    path: Path
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # parsed JSON

    @classmethod
    def load(cls, dataset: Dataset) -> Prelabels:
        path = dataset.prelabels_path
        if not path.is_file():
            return cls(path)
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DatasetError(f"{path}: not valid JSON ({error})") from None
        if not isinstance(entries, dict):
            raise DatasetError(f"{path}: expected an object of label file names")
        return cls(path, entries)

    def __contains__(self, label_file: str) -> bool:
        return label_file in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def scores(self, label_file: str) -> list[float] | None:
        entry = self.entries.get(label_file)
        return None if entry is None else list(entry.get("scores", []))

    def model(self, label_file: str) -> str | None:
        """The model that wrote ``label_file`` (None: a person did)."""
        entry = self.entries.get(label_file)
        return None if entry is None else str(entry.get("model", ""))

    def mark(self, label_file: str, model: str, scores: list[float]) -> None:
        self.entries[label_file] = {"model": model, "scores": scores}

    def unmark(self, label_file: str) -> bool:
        return self.entries.pop(label_file, None) is not None

    def save(self) -> None:
        if not self.entries and not self.path.exists():
            return
        write_text_atomic(self.path, json.dumps(self.entries, indent=1, sort_keys=True))
