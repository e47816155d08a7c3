"""Read a CPU tensor in place through numpy, where that is allowed.

Right after a training step a torch op on a small tensor costs tens of microseconds of dispatch
and thread hand-off on a CPU; numpy's reductions and BLAS dot products cost a few. Metrics and
probes use this for what they read every few steps; tensors on a device keep torch's path.
"""

from __future__ import annotations

import numpy as np
import torch

NUMPY_FLOATS = (torch.float32, torch.float64)


def numpy_view(tensor: torch.Tensor, dtypes: tuple[torch.dtype, ...] = NUMPY_FLOATS) -> np.ndarray | None:
    """The tensor's own memory as a numpy array (no copy), or None where numpy cannot or must not
    read it: on a device, sparse, another dtype, or part of an autograd graph."""
    if tensor.is_cpu and tensor.layout == torch.strided and tensor.dtype in dtypes and not tensor.requires_grad:
        return tensor.numpy()
    return None
