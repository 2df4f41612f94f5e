"""The bundled sample: a deterministic robot-camera recording with ground truth."""
