"""A dataset as training sees it (flat images/ + labels/ with split lists), for the training-data
and export-calibration tests."""

from __future__ import annotations

import cv2
import numpy as np
import yaml

NAMES = ["circle", "square"]


def make_dataset(root, splits=(("train", 4), ("val", 2)), labelled=True):
    """A flat images/ + labels/ dataset with split lists, as `odet dataset split` writes it."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    image = np.full((32, 48, 3), 90, np.uint8)
    config = {"path": str(root), "names": NAMES}
    for split, count in splits:
        paths = []
        for i in range(count):
            path = root / "images" / f"{split}_{i}.png"
            cv2.imwrite(str(path), image)
            if labelled:
                (root / "labels" / f"{split}_{i}.txt").write_text(f"{i % 2} 0.5 0.5 0.2 0.3\n")
            paths.append(str(path))
        (root / f"{split}.txt").write_text("\n".join(paths) + "\n")
        config[split] = f"{split}.txt"
    (root / "data.yaml").write_text(yaml.safe_dump(config))
    return root / "data.yaml"
