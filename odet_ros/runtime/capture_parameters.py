"""capture_node's parameters without ROS: the table, and the settings its values give.

Defaults, ranges and descriptions come from the core's settings (DEFAULT_SAMPLING,
SessionSettings, DEFAULT_SELECTION); the selection's values become settings in the core
(:func:`odet_ros.selection.configure.configure_selection`, which ``odet bag select`` calls with
its flags under the same names), so the robot and the workstation choose frames alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from odet_ros.bags import DISTROS
from odet_ros.capture import DEFAULT_SAMPLING, SessionSettings
from odet_ros.runtime.parameters import spec, table
from odet_ros.sampling import SamplerSettings
from odet_ros.selection import DEFAULT_SELECTION

DEFAULT_SESSION = SessionSettings(output_dir=Path("~/odet_captures"))
SELECT = DEFAULT_SELECTION
SELECT_VALUES = SELECT.values()  # the selection's settings as flat parameter values
# The sampler's parameters, changeable while recording.
SAMPLER_PARAMETERS = ("period", "blur_threshold", "duplicate_threshold")

CAPTURE_PARAMETERS = table(
    spec("image_topics", ["camera/image_raw"], "image topics to capture (relative names are in"
         " the node's namespace); a name ending in /compressed is a CompressedImage topic",
         read_only=True),
    spec("output_dir", str(DEFAULT_SESSION.output_dir), "sessions go to"
         " <output_dir>/<prefix>_<YYYYmmdd_HHMMSS>/", read_only=True),
    spec("prefix", DEFAULT_SESSION.prefix, "session folder name prefix", read_only=True),
    spec("store_compressed", True, "store frames as JPEG CompressedImage (compressed input is"
         " stored as it came) instead of raw Image", read_only=True),
    spec("jpeg_quality", 90, "JPEG quality of re-encoded frames", within=(1, 100)),
    spec("period", DEFAULT_SAMPLING.period, "minimum seconds between kept frames of a camera (by"
         " stamp)", within=(0, 3600)),
    spec("blur_threshold", DEFAULT_SAMPLING.blur_threshold, "reject frames whose variance of the"
         " Laplacian (grey, at most 640 px wide) is below; 0 = off", within=(0, 1e6)),
    spec("duplicate_threshold", DEFAULT_SAMPLING.duplicate_threshold, "reject frames whose mean"
         " grey difference (0-255) to the last kept frame, on a 64x48 thumbnail, is below;"
         " 0 = off", within=(0, 255)),
    spec("blur_calibration_seconds", 0.0, "if > 0, set each camera's blur threshold from the"
         " sharpness seen over its first seconds of footage (setting it again restarts the"
         " calibration)", within=(0, 600)),
    spec("blur_calibration_percentile", 20.0, "calibrated blur threshold = this percentile of"
         " the observed sharpness", within=(0, 100)),
    spec("record_on_start", True, "start recording as soon as the node is up (managed: on"
         " activate)"),
    spec("flush_period", DEFAULT_SESSION.flush_period, "seconds between flushes to disk: at most"
         " this much is lost on a power cut", within=(0.1, 60), read_only=True),
    spec("split_size_mb", DEFAULT_SESSION.split_size_mb, "start a new bag after this many MiB;"
         " 0 = no limit", within=(0, 1e7), read_only=True),
    spec("split_duration", DEFAULT_SESSION.split_duration, "start a new bag after this many"
         " seconds; 0 = no limit", within=(0, 1e6), read_only=True),
    spec("min_free_disk_mb", DEFAULT_SESSION.min_free_disk_mb, "stop recording (error log) when"
         " free disk falls under this many MiB", within=(0, 1e9), read_only=True),
    spec("lifecycle", False, "a managed node: configure opens nothing yet, activate subscribes"
         " and records, deactivate closes the bag", read_only=True),
    spec("autostart", False, "with lifecycle: configure and activate at start-up, as a lifecycle"
         " manager with autostart would; a failure leaves the node unconfigured", read_only=True),
    spec("status_period", 5.0, "seconds between diagnostics and the counters log line",
         within=(0.1, 3600), read_only=True),
    spec("select", "", "capture driven by the deployed model: keep the frames it is unsure of,"
         " unstable on, has not seen the like of or sees less in than it should ('all', or some"
         " of 'unsure,unstable,novel,blind'; empty: keep one frame every period). Needs the"
         " detector running on the camera", read_only=True),
    spec("detections_topic", "detections", "select, one camera: the detector's"
         " vision_msgs/Detection2DArray topic (several cameras: the detections beside each"
         " camera's images, where one detector serving them publishes them)", read_only=True),
    spec("label_info_topic", "label_info", "select: the detector's vision_msgs/LabelInfo (class"
         " names)", read_only=True),
    spec("model", "", "select: the model, as given to detect.launch.py: recorded with the"
         " pre-labels, and its bundle's score statistics and training views say what is usual"
         " for it", read_only=True),
    spec("calibration_seconds", SELECT_VALUES["calibration_seconds"], "select: a model without"
         " score statistics learns what is usual from this much footage (the fixed band"
         " 0.25-0.6 meanwhile); 0 = the fixed band throughout", within=(0, 3600),
         read_only=True),
    spec("unsure_low", SELECT_VALUES["unsure_low"], "select unsure: lowest score of a fixed band"
         " (the detector's conf_threshold or above); 0 with unsure_high 0 = the model's own band",
         within=(0, 1), read_only=True),
    spec("unsure_high", SELECT_VALUES["unsure_high"], "select unsure: scores under this are"
         " unsure (a fixed band); 0 = the model's own: under what its false positives seldom"
         " reach", within=(0, 1), read_only=True),
    spec("unsure_share", SELECT.unsure_share, "select unsure: share of a frame's boxes that must"
         " be unsure (1 = every box)", within=(0.01, 1), read_only=True),
    spec("unsure_margin", SELECT.unsure_margin, "select unsure: a box whose best class leads the"
         " runner-up by less is unsure; 0 = off", within=(0, 1), read_only=True),
    spec("count_jump", SELECT.count_jump, "select unstable: boxes gained or lost from one frame"
         " to the next; 0 = off", within=(0, 1000), read_only=True),
    spec("novelty", SELECT.novelty, "select novel: colour-view distance to every training view"
         " and kept frame above which a frame is new", within=(0.01, 1), read_only=True),
    spec("trained_view", SELECT.trained_view, "select: colour-view distance to a training view"
         " under which a frame is not kept (that view is labelled already); 0 = off",
         within=(0, 1), read_only=True),
    spec("per_view", SELECT.per_view, "select: frames kept of one view (within novelty of each"
         " other); 0 = no limit", within=(0, 100000), read_only=True),
    spec("per_minute", SELECT.per_minute, "select: frames kept per minute of footage at most;"
         " 0 = no limit", within=(0, 6000), read_only=True),
    spec("budget", SELECT.total, "select: frames kept in all, then no more; 0 = no limit",
         within=(0, 10**9), read_only=True),
    spec("new_burst", SELECT.new_burst, "select: frames the first frame of a view not kept yet"
         " may take ahead of per_minute (a further frame of a new condition: one)",
         within=(0, 1000), read_only=True),
)  # fmt: skip


def sampler_settings(values: Mapping[str, Any]) -> SamplerSettings:
    return SamplerSettings(**{name: float(values[name]) for name in SAMPLER_PARAMETERS})


def session_settings(values: Mapping[str, Any], distro: str) -> SessionSettings:
    """Where sessions go; bags are written for ``distro`` (a distro rosbags does not know gets
    Humble's layout, which later distros read)."""
    return SessionSettings(
        output_dir=Path(values["output_dir"]).expanduser(),
        prefix=values["prefix"],
        distro=distro if distro in DISTROS else "humble",
        flush_period=values["flush_period"],
        split_size_mb=values["split_size_mb"],
        split_duration=values["split_duration"],
        min_free_disk_mb=values["min_free_disk_mb"],
    )
