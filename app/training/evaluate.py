"""Loss and accuracy over a whole split, in whatever mode the model is in.

The engine validates with it (in eval mode); the window's "Evaluate" runs it in the mode the
user picked, so Dropout and BatchNorm show their two behaviours. An evaluation never changes
the model: BatchNorm running statistics updated by a train-mode pass are put back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from app.data.loading import Data
from app.numpy_view import numpy_view


@dataclass
class Evaluation:
    split: str  # "validation" | "training"
    training: bool  # the root module's mode during the pass
    loss: float
    accuracy: float | None
    samples: int


def accuracy(output: torch.Tensor, target: torch.Tensor) -> float | None:
    if not isinstance(output, torch.Tensor) or output.dim() < 2 or target.dtype != torch.int64:
        return None
    scores, labels = numpy_view(output.detach()), numpy_view(target, (torch.int64,))
    if scores is not None and labels is not None:  # on a CPU numpy is several times cheaper here
        hits = scores.argmax(axis=1) == labels
        return int(np.count_nonzero(hits)) / hits.size
    return (output.argmax(dim=1) == target).float().mean().item()


class Totals:
    """Sample-weighted means of the loss and of the accuracy where it was measured."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.correct = 0.0
        self.samples = 0
        self.measured = 0  # samples whose accuracy was measured

    def add(self, loss: float, batch_accuracy: float | None, samples: int) -> None:
        self.loss += loss * samples
        self.samples += samples
        if batch_accuracy is not None:
            self.correct += batch_accuracy * samples
            self.measured += samples

    def mean_loss(self) -> float | None:
        return self.loss / self.samples if self.samples else None

    def mean_accuracy(self) -> float | None:
        return self.correct / self.measured if self.measured else None


@torch.no_grad()
def evaluate_split(
    model: nn.Module, loss_fn: nn.Module, data: Data, split: str, batch_size: int, device: torch.device | str = "cpu"
) -> tuple[float | None, float | None]:
    x_all, y_all = (data.x_val, data.y_val) if split == "validation" else (data.x_train, data.y_train)
    totals = Totals()
    for start in range(0, len(x_all), batch_size):
        x = x_all[start : start + batch_size].to(device)
        y = y_all[start : start + batch_size].to(device)
        output = model(x)
        batch_accuracy = accuracy(output, y) if data.task == "classification" else None
        totals.add(loss_fn(output, y).item(), batch_accuracy, len(y))
    return totals.mean_loss(), totals.mean_accuracy()


def evaluate(model: nn.Module, loss_fn: nn.Module, data: Data, batch_size: int = 256) -> Evaluation:
    """One pass in the model's current mode over the validation data, or the training data if
    there is none; the model's buffers are the same afterwards."""
    split = "validation" if len(data.x_val) else "training"
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    buffers = [b for b in model.buffers()]
    saved = [b.clone() for b in buffers]
    try:
        loss, found_accuracy = evaluate_split(model, loss_fn, data, split, batch_size, device)
    finally:
        with torch.no_grad():
            for buffer, copy in zip(buffers, saved):
                buffer.copy_(copy)
    return Evaluation(
        split,
        model.training,
        loss if loss is not None else float("nan"),
        found_accuracy,
        len(data.x_val) if split == "validation" else len(data.x_train),
    )


def evaluate_project(project, model: nn.Module) -> Evaluation:
    """Evaluate ``model`` (as it is: weights, mode, device) on the project's data and loss."""
    from app.data.loading import load_data
    from app.network.build import build
    from app.setup.training_section import parse_training

    if project.training is None:
        from app.errors import NNStudioError

        raise NNStudioError("the project has no training section (dataset, loss, ...)", "training")
    config = parse_training(project.training)
    base_dir = project.path.parent if project.path is not None else None
    data = load_data(config.dataset, config.val_split, base_dir)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    loss_fn = build(config.loss, device=device, where="training.loss")
    return evaluate(model, loss_fn, data, config.batch_size * 4)
