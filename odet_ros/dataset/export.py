"""`odet bag export`: camera frames out of bags into a dataset, with their provenance.

Each bag is read once, in time order. A frame passes, per topic: every Nth, at most M frames,
then the capture node's own sampler (minimum period, blur and duplicate filters) when one of
those filters is on. Kept frames are written as ``images/<frame_stem>.<jpg|png>`` (atomically),
and ``manifest.csv`` gets one row each. Re-running skips frames whose image already exists, so
an interrupted export resumes. Bags run in parallel processes with ``jobs > 1``; every output
file is the same as a serial run's (names come from (bag, topic, stamp), rows are sorted).

Groups, what `odet dataset split` keeps together: a bag's frames form one stretch until the time
between two consecutive image messages exceeds ``group_gap_s``; a bag that starts within that gap
of another bag's end (the next part of a split recording) continues it, so a split never
separates the two sides of a cut. Across a pause, the chain joins a stretch to the one before it
on the same topic when the frames either side show one place: near twins once aligned, after any
pause, or alike in colour after a pause of at most ``same_view_gap_s`` (the capture node keeps
about a frame a second: continuous driving). Then, over the whole dataset (the groups of earlier
runs too), groups holding near twins of each other merge: one place visited again later, that
day or the next, is one group (:mod:`odet_ros.dataset.places`).
"""

from __future__ import annotations

import bisect
import functools
import logging
import math
import multiprocessing
import queue
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from odet_ros.atomic import remove_stale_temporaries, write_bytes_atomic
from odet_ros.bags import BagReader, open_bags
from odet_ros.dataset.annotations import write_label_file
from odet_ros.dataset.bag_search import bag_name, find_bags
from odet_ros.dataset.errors import NoColourError
from odet_ros.dataset.frames import (
    IMAGE_FORMATS,
    IMAGE_TYPES,
    dataset_pixels,
    encode_image,
    is_complete_image,
    source_encoding,
)
from odet_ros.dataset.layout import Dataset
from odet_ros.dataset.manifest import ManifestRow, merge_rows, read_manifest, write_manifest
from odet_ros.dataset.naming import frame_stem
from odet_ros.dataset.places import group_by_place
from odet_ros.dataset.prelabels import Prelabels
from odet_ros.errors import OdetError
from odet_ros.imaging import ImageConversionError
from odet_ros.interfaces.header import stamp_to_ns
from odet_ros.interfaces.protocols import is_compressed
from odet_ros.sampling import FrameSampler, SamplerSettings
from odet_ros.sampling.similarity import (
    NEAR_TWIN,
    SAME_VIEW,
    aligned_difference,
    twin_thumbnail,
    view_distance,
    view_signature,
)
from odet_ros.selection.records import SELECTION_TOPIC, SelectionRecord

if TYPE_CHECKING:
    from odet_ros.interfaces.protocols import CompressedImageMessage, ImageMessage

LOG = logging.getLogger(__name__)
PROGRESS_BATCH = 32  # messages between progress reports from a worker process


@dataclass(frozen=True)
class ExportSettings:
    """What to export and how; 0 switches a limit off."""

    image_format: str = "jpg"  # jpg | png
    quality: int = 95  # JPEG quality
    topics: tuple[str, ...] | None = None  # None: every image topic
    start_s: float | None = None  # seconds after each bag's first image message
    end_s: float | None = None
    every: int = 1  # keep every Nth message of a topic
    max_frames: int = 0  # at most this many frames per topic of each bag
    sampling: SamplerSettings = field(default_factory=SamplerSettings)
    blur_calibration_s: float = 0.0  # > 0: calibrate the blur threshold over this much footage
    blur_calibration_percentile: float = 20.0
    group_gap_s: float = 1.0  # a pause longer than this starts a new group ...
    same_view: float = SAME_VIEW  # ... unless the frames look alike (view distance); 0: off
    same_view_gap_s: float = 3.0  # ... for pauses up to this long (near twins: any pause)
    by_place: bool = True  # merge the groups, over the whole dataset, that show one place
    classes: tuple[str, ...] = ()  # data.yaml's class names (after any it already has)

    def __post_init__(self) -> None:
        if self.image_format not in IMAGE_FORMATS:
            raise OdetError(f"--format must be one of {', '.join(IMAGE_FORMATS)}")
        if not 1 <= self.quality <= 100:
            raise OdetError(f"--quality must be within 1-100, got {self.quality}")
        if self.every < 1 or self.max_frames < 0:
            raise OdetError("--every must be >= 1 and --max-frames >= 0")
        if not math.isfinite(self.group_gap_s) or self.group_gap_s <= 0:
            raise OdetError(f"--group-gap must be > 0 seconds, got {self.group_gap_s}")
        if not 0 <= self.same_view <= 1:
            raise OdetError(f"--same-view must be within 0-1, got {self.same_view}")
        if not math.isfinite(self.same_view_gap_s) or self.same_view_gap_s < 0:
            raise OdetError(f"--same-view-gap must be >= 0 seconds, got {self.same_view_gap_s}")
        if len(set(self.classes)) != len(self.classes) or not all(self.classes):
            raise OdetError(f"--classes must be distinct, non-empty names: {list(self.classes)}")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise OdetError(f"--end ({self.end_s} s) must come after --start ({self.start_s} s)")

    @property
    def samples(self) -> bool:
        """Whether the frame sampler has anything to do (else every frame is kept)."""
        filters = (self.sampling.period, self.sampling.blur_threshold)
        return any(filters) or bool(self.sampling.duplicate_threshold or self.blur_calibration_s)


@dataclass(frozen=True)
class BagPlan:
    """One bag to export: its frame name, the image topics chosen, their message count."""

    path: Path
    name: str
    topics: tuple[str, ...]
    messages: int


@dataclass
class Segment:
    """A stretch of a bag without a pause: its group and first/last receive time."""

    group: str
    first_ns: int
    last_ns: int


@dataclass
class BagResult:
    """What exporting one bag produced; ``links`` pairs the groups whose frames look alike
    across a pause (one place, seen before and after it)."""

    bag: Path
    rows: list[ManifestRow]
    segments: list[Segment]
    counts: Counter[str]
    warnings: list[str]
    links: list[tuple[str, str]] = field(default_factory=list)
    prelabels: list[tuple[str, SelectionRecord]] = field(default_factory=list)  # image file


@dataclass
class ExportReport:
    """Totals of a run; ``counts`` keys: messages, written, existing, every, max_frames,
    too_soon, blurred, duplicate, same_stamp, not_picture, failed."""

    dataset: Dataset
    bags: list[BagPlan]
    frames: int  # rows of this run (written now or found from an earlier run)
    manifest_rows: int
    counts: Counter[str]
    warnings: list[str]
    groups: int = 0  # in the whole manifest
    largest_group: tuple[str, int] = ("", 0)  # its name and images
    merged_by_place: int = 0  # groups that joined another showing the same place


def plan_export(paths: Iterable[str | Path], settings: ExportSettings) -> list[BagPlan]:
    """The bags under ``paths`` and their image topics; refuses clashing bag names and named
    topics that no bag has (or that are not images)."""
    bags = find_bags(paths)
    if not bags:
        raise OdetError("no bags found in the given paths")
    names: dict[str, Path] = {}
    for bag in bags:
        if (other := names.setdefault(bag_name(bag), bag)) != bag:
            raise OdetError(
                f"two bags are both named {bag_name(bag)!r} ({other} and {bag}): frame names would"
                " clash; rename one"
            )
    plans, seen = [], set()
    for bag in bags:
        with open_bags(bag) as reader:
            topics = reader.topics
        images = {n for n, t in topics.items() if set(t.msgtype.split(" | ")) <= IMAGE_TYPES}
        if settings.topics is not None:
            if wrong := [t for t in settings.topics if t in topics and t not in images]:
                raise OdetError(f"{bag}: topic {', '.join(wrong)} is not an image topic")
            images &= set(settings.topics)
        seen |= images
        chosen = tuple(sorted(images))
        plans.append(BagPlan(bag, bag_name(bag), chosen, sum(topics[t].count for t in chosen)))
    if settings.topics is not None and (missing := set(settings.topics) - seen):
        raise OdetError(f"topic {', '.join(sorted(missing))} is in none of {len(bags)} bag(s)")
    return plans


def export_bags(
    paths: Iterable[str | Path],
    out: str | Path,
    settings: ExportSettings | None = None,
    *,
    jobs: int = 1,
    progress: bool = True,
) -> ExportReport:
    """Export the frames of the bags under ``paths`` into the dataset ``out`` (made if needed)."""
    settings = settings or ExportSettings()
    if jobs < 1:
        raise OdetError(f"--jobs must be >= 1, got {jobs}")
    plans = plan_export(paths, settings)
    dataset = Dataset.create(out)
    earlier = read_manifest(dataset.manifest_path)  # a bad manifest stops us before any write
    names = given_classes(dataset.names(), settings.classes, dataset.data_yaml)
    if stale := remove_stale_temporaries(dataset.images_dir):
        LOG.info("removed %d half-written image(s) of an interrupted run", stale)
    total = sum(plan.messages for plan in plans)
    with tqdm(total=total, unit="msg", desc="export", disable=not progress) as bar:
        if jobs == 1 or len(plans) == 1:
            results = [export_bag(plan, dataset.images_dir, settings, bar.update) for plan in plans]
        else:
            results = _export_parallel(plans, dataset.images_dir, settings, jobs, bar.update)
    groups = join_groups(
        [s for r in results for s in r.segments],
        settings.group_gap_s,
        [link for r in results for link in r.links],
    )
    rows = [replace(row, group=groups[row.group]) for r in results for row in r.rows]
    merged = merge_rows(earlier, rows)
    warnings = [w for r in results for w in r.warnings]
    by_place = 0
    if settings.by_place:
        placed = group_by_place(dataset, merged, progress=progress)
        merged, by_place = placed.rows, placed.merged
        warnings += [f"{dataset.image_path(f)}: unreadable, kept in its group" for f in
                     placed.unreadable]  # fmt: skip
    write_selection_prelabels(dataset, names, [item for r in results for item in r.prelabels])
    write_manifest(dataset.manifest_path, merged)
    dataset.write_data_yaml(names)
    counts: Counter[str] = sum((r.counts for r in results), Counter())
    sizes = Counter(row.group for row in merged if not row.origin)
    largest = min(sizes.items(), key=lambda item: (-item[1], item[0]), default=("", 0))
    return ExportReport(
        dataset, plans, len(rows), len(merged), counts, warnings, len(sizes), largest, by_place
    )


def given_classes(names: list[str], classes: Sequence[str], data_yaml: Path) -> list[str]:
    """data.yaml's classes with ``--classes`` added: the dataset's own first, in their order
    (their ids are in the label files already), then the new ones."""
    given = list(classes)
    if names and given[: len(names)] != names[: len(given)]:
        raise OdetError(
            f"--classes {','.join(given)}: {data_yaml} has {','.join(names)} already, whose ids the"
            " label files use; give those first, in that order, and new ones after them"
        )
    return names + given[len(names) :]


def write_selection_prelabels(
    dataset: Dataset, names: list[str], items: list[tuple[str, SelectionRecord]]
) -> None:
    """The model's boxes on the frames it asked for, as pre-labels (label files marked in
    prelabels.json with the model and scores, as `odet label` writes them); its classes are
    appended to ``names`` (also where a person's label file is left alone)."""
    prelabels = Prelabels.load(dataset)
    planned = []
    for file, record in items:
        names += [name for name in dict.fromkeys(record.names) if name not in names]
        label = dataset.label_path(file)
        if label.is_file() and label.name not in prelabels:
            continue
        lookup = np.array([names.index(name) for name in record.names], np.int64)
        size = np.array([record.width, record.height] * 2, np.float64)
        xyxy = np.clip(record.detections.xyxy / size, 0.0, 1.0)
        prelabels.mark(label.name, record.model_label, record.detections.scores.tolist())
        planned.append((file, lookup[record.detections.class_ids], xyxy))
    prelabels.save()  # the marks first: a crash never leaves a model's labels unmarked
    for file, class_ids, xyxy in planned:
        write_label_file(dataset, file, class_ids, xyxy)


def join_groups(
    segments: list[Segment], gap_s: float, links: Sequence[tuple[str, str]] = ()
) -> dict[str, str]:
    """Group name -> the name of the group it joins: segments of different bags that follow
    one another within ``gap_s`` are one sequence, and so are the pairs in ``links``.
    Deterministic whatever the input order."""
    gap = int(gap_s * 1e9)
    ordered = sorted(segments, key=lambda s: (s.first_ns, s.group))
    parent = {s.group: s.group for s in ordered}
    rank = {s.group: i for i, s in enumerate(ordered)}

    def root(group: str) -> str:
        while parent[group] != group:
            group = parent[group]
        return group

    def join(a: str, b: str) -> None:
        a, b = root(a), root(b)
        if a != b:  # the earlier segment's root names the joined group
            parent[max(a, b, key=rank.__getitem__)] = min(a, b, key=rank.__getitem__)

    by_end = sorted(ordered, key=lambda s: (s.last_ns, s.group))
    ends = [s.last_ns for s in by_end]
    for segment in ordered:
        low = bisect.bisect_left(ends, segment.first_ns - gap)
        high = bisect.bisect_right(ends, segment.first_ns)
        for before in by_end[low:high]:
            if before.group == segment.group:
                continue
            join(before.group, segment.group)
    for a, b in links:
        join(a, b)
    return {group: root(group) for group in parent}


def export_bag(
    plan: BagPlan,
    images_dir: Path,
    settings: ExportSettings,
    progress: Callable[[int], object] | None = None,
) -> BagResult:
    """Export one bag's frames into ``images_dir``; ``progress(n)`` hears of messages read."""
    return _BagExporter(plan, images_dir, settings, progress).run()


@dataclass(frozen=True)
class _KeptView:
    """The last kept frame of a topic, as the chain compares the next one with it."""

    group: str
    receive_ns: int
    signature: NDArray[np.float32]
    thumbnail: NDArray[np.float32]


@dataclass
class _TopicState:
    sampler: FrameSampler
    index: int = 0
    kept: int = 0
    last_view: _KeptView | None = None


class _BagExporter:
    """The loop over one bag's messages, with its per-topic samplers and its counts."""

    def __init__(
        self,
        plan: BagPlan,
        images_dir: Path,
        settings: ExportSettings,
        progress: Callable[[int], object] | None,
    ) -> None:
        self.plan = plan
        self.images_dir = images_dir
        self.settings = settings
        self.progress = progress
        self.extension = IMAGE_FORMATS[settings.image_format]
        self.result = BagResult(plan.path, [], [], Counter(), [])
        self.topics = {topic: self._topic_state() for topic in plan.topics}
        self.stems: set[str] = set()
        self.refused: set[str] = set()
        self.records: dict[tuple[str, int], SelectionRecord] = {}

    def _topic_state(self) -> _TopicState:
        sampler = FrameSampler(self.settings.sampling)
        if self.settings.blur_calibration_s:
            sampler.calibrate(
                self.settings.blur_calibration_s, self.settings.blur_calibration_percentile
            )
        return _TopicState(sampler)

    def run(self) -> BagResult:
        if not self.plan.topics:
            self.result.warnings.append(f"{self.plan.path}: no image topic to export")
            return self.result
        pending = 0
        segment: Segment | None = None
        gap = int(self.settings.group_gap_s * 1e9)
        with open_bags(self.plan.path) as reader:
            self.records = self._selection_records(reader)
            for message in reader.messages(self.plan.topics, *self._time_range(reader)):
                if segment is None or message.timestamp - segment.last_ns > gap:
                    name = f"{self.plan.name}#{len(self.result.segments)}"
                    segment = Segment(name, message.timestamp, message.timestamp)
                    self.result.segments.append(segment)
                else:
                    segment.last_ns = message.timestamp
                self._frame(message.topic, message.msg, message.timestamp, segment.group)
                pending += 1
                if pending == PROGRESS_BATCH:
                    self._report(pending)
                    pending = 0
        self._report(pending)
        for topic, state in self.topics.items():
            counters = state.sampler.counters
            for reason in ("too_soon", "blurred", "duplicate"):
                self.result.counts[reason] += getattr(counters, reason)
            if topic in self.refused:
                self.result.counts["not_picture"] += state.index
        return self.result

    def _selection_records(self, reader: BagReader) -> dict[tuple[str, int], SelectionRecord]:
        """The selection records of a bag the deployed model chose frames for, by image topic
        and stamp (none in other bags)."""
        if SELECTION_TOPIC not in reader.topics:
            return {}
        records = {}
        for message in reader.messages([SELECTION_TOPIC]):
            where = f"{self.plan.path}: {SELECTION_TOPIC} at {message.timestamp} ns"
            record = SelectionRecord.from_json(message.msg.data, where)
            records[record.topic, record.stamp_ns] = record
        return records

    def _report(self, count: int) -> None:
        if self.progress is not None and count:
            self.progress(count)

    def _time_range(self, reader: BagReader) -> tuple[int | None, int | None]:
        """Nanosecond bounds for ``--start``/``--end``, relative to the first image message."""
        if self.settings.start_s is None and self.settings.end_s is None:
            return None, None
        first = next(iter(reader.messages(self.plan.topics)), None)
        if first is None:
            return None, None
        start, end = self.settings.start_s, self.settings.end_s
        return (
            None if start is None else first.timestamp + int(start * 1e9),
            None if end is None else first.timestamp + int(end * 1e9),
        )

    def _frame(
        self, topic: str, msg: ImageMessage | CompressedImageMessage, receive_ns: int, group: str
    ) -> None:
        counts, state = self.result.counts, self.topics[topic]
        counts["messages"] += 1
        state.index += 1
        if topic in self.refused:
            return
        if (state.index - 1) % self.settings.every:
            counts["every"] += 1
            return
        if self.settings.max_frames and state.kept >= self.settings.max_frames:
            counts["max_frames"] += 1
            return
        stamp_ns = stamp_to_ns(msg.header.stamp) or receive_ns
        stem = frame_stem(self.plan.name, topic, stamp_ns)
        if stem in self.stems:
            counts["same_stamp"] += 1
            return
        pixels = functools.cache(lambda: dataset_pixels(msg))
        try:
            if self.settings.samples and not state.sampler.offer(stamp_ns, pixels).keep:
                return
            file, width, height = self._store(stem, msg, pixels)
        except NoColourError as error:
            self.refused.add(topic)
            self.result.warnings.append(f"{self.plan.path}: {topic} not exported: {error}")
            return
        except ImageConversionError as error:
            counts["failed"] += 1
            if counts["failed"] <= 5:
                self.result.warnings.append(
                    f"{self.plan.path}: {topic} frame at {stamp_ns} ns skipped: {error}"
                )
            return
        self.stems.add(stem)
        state.kept += 1
        self._chain(state, group, receive_ns, pixels)
        record = self.records.get((topic, stamp_ns))
        if record is not None:
            self.result.prelabels.append((file, record))
        self.result.rows.append(
            ManifestRow(
                file,
                self.plan.name,
                topic,
                stamp_ns,
                receive_ns,
                width,
                height,
                source_encoding(msg),
                group,
                reasons=";".join(record.reasons) if record is not None else "",
            )
        )

    def _chain(
        self,
        state: _TopicState,
        group: str,
        receive_ns: int,
        pixels: Callable[[], NDArray[np.uint8]],
    ) -> None:
        """Link this frame's group to the previous kept frame's when a pause split them but
        they show one place (a robot that moved slowly, or stood still): near twins once
        aligned, or alike in colour after a short pause (``same_view_gap_s``)."""
        if not self.settings.same_view:
            return
        image = pixels()
        view = _KeptView(group, receive_ns, view_signature(image), twin_thumbnail(image))
        last, state.last_view = state.last_view, view
        if last is None or last.group == group:
            return
        short = receive_ns - last.receive_ns <= self.settings.same_view_gap_s * 1e9
        if (
            short and view_distance(last.signature, view.signature) < self.settings.same_view
        ) or aligned_difference(last.thumbnail, view.thumbnail) < NEAR_TWIN:
            self.result.links.append((last.group, group))

    def _store(
        self,
        stem: str,
        msg: ImageMessage | CompressedImageMessage,
        pixels: Callable[[], NDArray[np.uint8]],
    ) -> tuple[str, int, int]:
        """Write the image unless a previous run did (in either format); returns the image's
        file name and size."""
        for extension in (self.extension, *IMAGE_FORMATS.values()):
            path = self.images_dir / f"{stem}{extension}"
            if not path.exists():
                continue
            if not is_complete_image(path):  # cut by a power cut: written again below
                path.unlink()
                self.result.counts["incomplete"] += 1
                continue
            self.result.counts["existing"] += 1
            if not is_compressed(msg):  # raw: the size is in the message, no need to decode
                return path.name, int(msg.width), int(msg.height)
            height, width = pixels().shape[:2]
            return path.name, width, height
        image = pixels()
        encoded = encode_image(image, self.settings.image_format, self.settings.quality)
        # not synced one by one (a fifth of the export's time): a file a power cut leaves cut
        # fails is_complete_image above, and the re-run writes it again
        write_bytes_atomic(self.images_dir / f"{stem}{self.extension}", encoded, durable=False)
        self.result.counts["written"] += 1
        return f"{stem}{self.extension}", image.shape[1], image.shape[0]


def _export_parallel(
    plans: list[BagPlan],
    images_dir: Path,
    settings: ExportSettings,
    jobs: int,
    progress: Callable[[int], object],
) -> list[BagResult]:
    """Bags in worker processes (spawned: no inherited threads or open bags); results in the
    order of ``plans`` whatever order they finish in."""
    context = multiprocessing.get_context("spawn")
    updates: multiprocessing.Queue[int] = context.Queue()
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(plans)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(updates,),
    ) as pool:
        futures: list[Future[BagResult]] = [
            pool.submit(_export_in_worker, plan, images_dir, settings) for plan in plans
        ]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(updates, progress)
    _drain(updates, progress)
    return [future.result() for future in futures]


_WORKER_UPDATES: multiprocessing.Queue[int] | None = None


def _init_worker(updates: multiprocessing.Queue[int]) -> None:
    global _WORKER_UPDATES  # noqa: PLW0603 - the pool's initializer is the only way to pass a Queue
    _WORKER_UPDATES = updates


def _export_in_worker(plan: BagPlan, images_dir: Path, settings: ExportSettings) -> BagResult:
    updates = _WORKER_UPDATES
    return export_bag(plan, images_dir, settings, None if updates is None else updates.put)


def _drain(updates: multiprocessing.Queue[int], progress: Callable[[int], object]) -> None:
    while True:
        try:
            progress(updates.get_nowait())
        except queue.Empty:
            return
