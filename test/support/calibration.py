"""A camera calibration file, as the calibration, camera and capture tests read it."""

# As written by `ros2 run camera_calibration cameracalibrator` (ost.yaml).
OST_YAML = """\
image_width: 640
image_height: 480
camera_name: narrow_stereo
camera_matrix:
  rows: 3
  cols: 3
  data: [615.12, 0., 321.8, 0., 616.4, 238.2, 0., 0., 1.]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [0.1108, -0.2337, 0.0012, -0.0009, 0.]
rectification_matrix:
  rows: 3
  cols: 3
  data: [1., 0., 0., 0., 1., 0., 0., 0., 1.]
projection_matrix:
  rows: 3
  cols: 4
  data: [620.5, 0., 321.1, 0., 0., 622.9, 237.6, 0., 0., 0., 1., 0.]
"""
