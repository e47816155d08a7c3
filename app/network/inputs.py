"""Input shapes and dtypes a network is analysed (and later trained) with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from app.errors import NNStudioError

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "bool": torch.bool,
}
MAX_DIMS = 8
MAX_DIM_SIZE = 2**31 - 1


@dataclass
class InputSpec:
    shape: list[int]
    dtype: str = "float32"
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype}

    def meta_tensor(self) -> torch.Tensor:
        return torch.empty(self.shape, dtype=self.torch_dtype, device="meta")


def check_shape(shape, where: str) -> list[int]:
    if not isinstance(shape, list) or not shape:
        raise NNStudioError("must be a non-empty list of positive integers", where)
    if len(shape) > MAX_DIMS:
        raise NNStudioError(f"must have at most {MAX_DIMS} dimensions, got {len(shape)}", where)
    for i, size in enumerate(shape):
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_DIM_SIZE:
            raise NNStudioError(f"must be a positive integer, got {size!r}", f"{where}[{i}]")
    return list(shape)


def check_dtype(dtype, where: str) -> str:
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise NNStudioError(f"must be one of {', '.join(DTYPES)}, got {dtype!r}", where)
    return dtype


def parse_shape_text(text: str, where: str = "--input-shape") -> list[int]:
    """``"2,3,32,32"`` (or ``"2x3x32x32"``, ``"(2, 3, 32, 32)"``) as a list of ints."""
    parts = re.split(r"[,x]", text.strip().strip("()[]").replace(" ", "").rstrip(","))
    try:
        shape = [int(part) for part in parts]
    except ValueError:
        raise NNStudioError(f"must be integers separated by commas, like 2,3,32,32; got {text!r}", where) from None
    return check_shape(shape, where)


def inputs_from_cli(shapes: list[str], dtypes: list[str]) -> list[InputSpec]:
    """``--input-shape`` given once per input; ``--input-dtype`` once for all or once per input."""
    if dtypes and len(dtypes) not in (1, len(shapes)):
        raise NNStudioError(
            f"give --input-dtype once or once per --input-shape ({len(shapes)}), got {len(dtypes)}",
            "--input-dtype",
        )
    specs = []
    for i, text in enumerate(shapes):
        dtype = dtypes[i if len(dtypes) > 1 else 0] if dtypes else "float32"
        specs.append(InputSpec(parse_shape_text(text), check_dtype(dtype, "--input-dtype")))
    return specs
