"""Training, export and deployment: the workstation-to-robot half of the workflow.

- :mod:`.train` — ``train(TrainSettings)``: Ultralytics training, ending in a model bundle.
- :mod:`.export` — ``export_model(ExportSettings)``: ONNX, TFLite (fp32, int8, int8 weights),
  DeepStream, TensorRT; the exported model evaluated against its ``.pt`` into the bundle.
- :mod:`.deploy` — ``deploy(bundle, into=..., workspace=...)``: install where the node finds it.
- :mod:`.data` — the dataset checked, fingerprinted and listed for Ultralytics.
- :mod:`.calibration`, :mod:`.quantize` — int8 on the dataset's own train images.
- :mod:`.deepstream` — ONNX output layout, labels and nvinfer config for DeepStream.

Modules are imported on use: the robot needs :mod:`.deploy` without PyTorch.
"""
