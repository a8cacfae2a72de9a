"""ONNX export (opset 18, dynamic batch axis) and the onnxruntime parity check."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

OPSET = 18
PARITY_TOLERANCE = 1e-4


def export_onnx(module: torch.nn.Module, path: Path, outputs: list[str]) -> None:
    """Exports `module` (tiles -> outputs) with input `tiles` [batch, 2, 64, 64] as one file."""
    module.eval()
    example = torch.zeros(4, 2, 64, 64)
    batch = torch.export.Dim("batch", min=1, max=65536)
    program = torch.onnx.export(
        module, (example,), input_names=["tiles"], output_names=outputs, opset_version=OPSET,
        dynamic_shapes={"tiles": {0: batch}}, dynamo=True, optimize=True, verbose=False,
    )
    model = program.model_proto
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    for out in model.graph.output:
        out.type.tensor_type.shape.dim[0].dim_param = "batch"
    strip_debug_metadata(model)
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(path), save_as_external_data=False)


def strip_debug_metadata(model: onnx.ModelProto) -> None:
    """Drops the exporter's per-node debugging metadata (stack traces with absolute source
    paths), so that the same weights give the same file, and sha256, in any checkout."""
    graphs = [model.graph, *(f for f in model.functions)]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            del node.metadata_props[:]
            for attribute in node.attribute:
                graphs.extend([attribute.g] if attribute.HasField("g") else [])
                graphs.extend(attribute.graphs)


def parity(module: torch.nn.Module, path: Path, tiles: np.ndarray) -> float:
    """Largest absolute difference between PyTorch and onnxruntime outputs on `tiles`."""
    module.eval()
    with torch.no_grad():
        expected = module(torch.from_numpy(tiles))
    expected = expected if isinstance(expected, tuple) else (expected,)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"tiles": tiles})
    worst = max(float(np.abs(e.numpy() - g).max()) for e, g in zip(expected, got))
    if worst > PARITY_TOLERANCE:
        raise AssertionError(f"{path.name}: onnxruntime differs from PyTorch by {worst:g}")
    return worst


def io_signature(path: Path) -> dict:
    """Names and shapes of the saved graph's inputs and outputs, as the manifest states them."""
    model = onnx.load(str(path))

    def describe(values):
        return [(v.name, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]

    return {"inputs": describe(model.graph.input), "outputs": describe(model.graph.output)}
