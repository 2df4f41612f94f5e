"""`odet detect` off the robot: a model over an image, a folder, a video or a bag, the node's
per-frame path (:class:`odet_ros.runtime.FrameDetector`) written as files and an mcap bag."""
