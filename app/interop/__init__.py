"""Between nnstudio and the rest of the PyTorch world: the standalone script, ONNX and weights
export, a Python network imported as a project, weights imported from safetensors, TensorBoard.

May import ``app.training`` and the layers below it; never the CLI.
"""
