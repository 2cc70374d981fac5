"""Generation: sampling API, ONNX export and onnxruntime inference."""
