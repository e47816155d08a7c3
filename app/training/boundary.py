"""The decision boundary of a 2-D classifier: the model's class and confidence over a grid.

In the manner of TensorFlow Playground: the grid is built once per dataset
(:meth:`BoundaryGrid.for_data`), then :meth:`BoundaryGrid.predict` runs the model on it between
training steps. The result is plain numpy, so the training worker can hand it to the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from app.data.loading import Data
from app.errors import NNStudioError

DEFAULT_RESOLUTION = 64
DEFAULT_MARGIN = 0.15
MIN_RESOLUTION, MAX_RESOLUTION = 2, 1024


@dataclass(frozen=True)
class BoundaryImage:
    """The model's answer on every grid cell.

    ``label[j, i]`` and ``confidence[j, i]`` belong to the cell centred at ``x = xs[i]``,
    ``y = ys[j]``: rows go up in y, columns right in x, and the cells tile the ranges exactly.
    """

    label: np.ndarray  # (res, res) int64: the predicted class
    confidence: np.ndarray  # (res, res) float32 in [0, 1]: the predicted class's probability
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    num_classes: int  # the model's classes: its output width, or 2 for a single logit

    @property
    def resolution(self) -> int:
        return int(self.label.shape[0])


class BoundaryGrid:
    """Cell centres over a rectangle, as an (res * res, 2) float32 tensor made once."""

    def __init__(
        self, x_range: tuple[float, float], y_range: tuple[float, float], resolution: int = DEFAULT_RESOLUTION
    ) -> None:
        if (
            not isinstance(resolution, int)
            or isinstance(resolution, bool)
            or not (MIN_RESOLUTION <= resolution <= MAX_RESOLUTION)
        ):
            raise NNStudioError(
                f"must be an integer from {MIN_RESOLUTION} to {MAX_RESOLUTION}, got {resolution!r}", "resolution"
            )
        for name, (low, high) in (("x_range", x_range), ("y_range", y_range)):
            if not (np.isfinite(low) and np.isfinite(high) and low < high):
                raise NNStudioError(f"must be two finite numbers, low < high, got {(low, high)!r}", name)
        self.x_range = (float(x_range[0]), float(x_range[1]))
        self.y_range = (float(y_range[0]), float(y_range[1]))
        self.resolution = resolution
        self.xs = _centres(self.x_range, resolution)
        self.ys = _centres(self.y_range, resolution)
        grid_y, grid_x = np.meshgrid(self.ys, self.xs, indexing="ij")
        self.points = torch.from_numpy(np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(np.float32))
        # One copy per (device, dtype), so a GPU model does not pay a host-to-device copy every call.
        self._placed: dict[tuple[torch.device, torch.dtype], Tensor] = {}

    @classmethod
    def for_data(
        cls, data: Data, resolution: int = DEFAULT_RESOLUTION, margin: float = DEFAULT_MARGIN
    ) -> BoundaryGrid | None:
        """A grid over the data's points plus ``margin`` of their span on each side.

        None unless the data is classification with 2 float features (a boundary needs a plane).
        The validation points are included, so every point drawn lies inside the image.
        """
        if data.task != "classification" or tuple(data.sample_shape) != (2,) or data.x_dtype != "float32":
            return None
        points = torch.cat([data.x_train, data.x_val]).double()
        points = points[torch.isfinite(points).all(dim=1)]
        if len(points) == 0:
            return None
        low, high = points.min(dim=0).values.tolist(), points.max(dim=0).values.tolist()
        ranges = []
        for lo, hi in zip(low, high):
            span = hi - lo
            if span <= 0.0:  # one point, or all on a line: give the axis some room
                lo, hi, span = lo - 1.0, hi + 1.0, 2.0
            ranges.append((lo - margin * span, hi + margin * span))
        return cls(ranges[0], ranges[1], resolution)

    def predict(self, model: nn.Module) -> BoundaryImage:
        """Run ``model`` on the grid in eval mode without gradients, on the model's device.

        Every module's ``training`` flag is set to False directly (not through ``train()``, which
        per-module mode overrides would ignore: a BatchNorm pinned to training would otherwise
        update its running statistics here), and each is restored to exactly what it was.
        Pass the bare model, not a DistributedDataParallel wrapper.
        """
        points = self._points_for(model)
        modules = list(model.modules())
        flags = [module.training for module in modules]
        try:
            for module in modules:
                module.training = False
            with torch.no_grad():
                output = model(points)
        finally:
            for module, flag in zip(modules, flags):
                module.training = flag
        return self._image(output)

    def _points_for(self, model: nn.Module) -> Tensor:
        device, dtype = torch.device("cpu"), torch.float32
        parameter: Tensor | None = next(model.parameters(), None)
        if parameter is None:
            parameter = next(model.buffers(), None)
        if parameter is not None:
            device = parameter.device
            if parameter.is_floating_point():
                dtype = parameter.dtype
        key = (device, dtype)
        if key not in self._placed:
            self._placed[key] = self.points.to(device=device, dtype=dtype)
        return self._placed[key]

    def _image(self, output: object) -> BoundaryImage:
        count = len(self.points)
        shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
        if not isinstance(output, Tensor) or output.ndim not in (1, 2) or output.shape[0] != count:
            raise NNStudioError(
                f"the model gave {shape} for {count} points; a decision boundary needs "
                f"one score per class, shape ({count}, classes)",
                "network",
            )
        scores = output.detach().float()
        if scores.ndim == 1:
            scores = scores[:, None]
        if scores.shape[1] == 1:  # a single logit: binary, as with BCEWithLogitsLoss
            positive = torch.sigmoid(scores[:, 0])
            label = (positive > 0.5).long()
            confidence = torch.maximum(positive, 1.0 - positive)
            classes = 2
        else:
            confidence, label = torch.softmax(scores, dim=1).max(dim=1)
            classes = scores.shape[1]
        res = self.resolution
        confidence_np = np.nan_to_num(confidence.cpu().numpy().reshape(res, res), nan=0.0).astype(np.float32)
        return BoundaryImage(
            label.cpu().numpy().reshape(res, res).astype(np.int64),
            confidence_np,
            self.x_range,
            self.y_range,
            int(classes),
        )


def _centres(bounds: tuple[float, float], resolution: int) -> np.ndarray:
    low, high = bounds
    return low + (np.arange(resolution) + 0.5) * ((high - low) / resolution)
