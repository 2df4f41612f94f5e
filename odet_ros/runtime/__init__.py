"""What a live node needs besides ROS: each node's parameter table and what its values mean
(``*_parameters.py``), the cameras a detector serves and where their outputs go (cameras.py),
the inference thread (inference.py) over the newest frame of each camera (latest.py), the
per-frame detection (frame_detector.py) and its 3D step (depth_step.py), QoS matching, stream
statistics and /diagnostics levels.

Import from the modules: the launch files read the light ones (parameters, cameras) under ROS's
own Python, which has none of odet's pip dependencies.
"""
