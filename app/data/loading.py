"""Data for training: load a dataset, split off validation, and cut deterministic mini-batches.

The generators live in :mod:`app.data.datasets`, the user-file readers in :mod:`app.data.user_files`;
this module is what the engine and the GUI import.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from app.data.datasets import ARGUMENTS, Samples, dataset_arguments, dataset_names, generate, parse_dataset
from app.data.user_files import load_csv, load_npz
from app.errors import NNStudioError

__all__ = [
    "ARGUMENTS",
    "Batches",
    "Data",
    "dataset_arguments",
    "dataset_names",
    "load_data",
    "parse_dataset",
    "split_samples",
]

MAX_VAL_SPLIT = 0.9
SEED_STRIDE = 1000003  # epoch seeds: seed * SEED_STRIDE + epoch, so (seed, epoch) pairs rarely collide


@dataclass
class Data:
    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    task: str  # "classification" | "regression"
    num_classes: int | None
    sample_shape: tuple[int, ...]
    x_dtype: str  # "float32", or "int64" for token ids
    description: str
    class_names: tuple[str, ...] | None = None


def load_data(
    dataset: dict, val_split: float = 0.2, base_dir: Path | None = None, where: str = "training.dataset"
) -> Data:
    """Generate or read the dataset and split it; user files are found relative to ``base_dir``."""
    args = parse_dataset(dataset, where)
    ok = isinstance(val_split, (int, float)) and not isinstance(val_split, bool) and math.isfinite(val_split)
    if not ok or not 0.0 <= val_split <= MAX_VAL_SPLIT:
        parent = where.rsplit(".", 1)[0] if "." in where else ""
        raise NNStudioError(
            f"must be a number from 0 to {MAX_VAL_SPLIT}, got {val_split!r}",
            f"{parent}.val_split" if parent else "val_split",
        )
    if args["name"] == "csv":
        samples = load_csv(args, base_dir, where)
    elif args["name"] == "npz":
        samples = load_npz(args, base_dir, where)
    else:
        samples = generate(args)
    return split_samples(samples, float(val_split), args["seed"])


def split_samples(samples: Samples, val_split: float, seed: int) -> Data:
    """A seeded random split; the validation set is empty when ``val_split`` is 0."""
    count = len(samples.x)
    # Round to the nearest sample but always keep one for training.
    val_count = min(round(count * val_split), count - 1)
    generator = torch.Generator().manual_seed(seed % 2**64)
    order = torch.randperm(count, generator=generator)
    # Each part keeps the file's order, so a user's rows are easy to find; batches shuffle anyway.
    val, train = order[:val_count].sort().values, order[val_count:].sort().values
    x_dtype = "int64" if samples.x.dtype == torch.int64 else "float32"
    return Data(
        samples.x[train],
        samples.y[train],
        samples.x[val],
        samples.y[val],
        samples.task,
        samples.num_classes,
        tuple(samples.x.shape[1:]),
        x_dtype,
        f"{samples.description}; {count - val_count} train / {val_count} validation",
        samples.class_names,
    )


class Batches:
    """Mini-batches whose order depends only on (seed, epoch), so a run can resume exactly.

    With ``world_size`` > 1 every rank builds the same permutation, cuts it into global batches
    of ``batch_size * world_size`` and takes its own contiguous slice of each, so the ranks see
    disjoint samples and take the same number of steps. As with ``DistributedSampler``, when
    ``drop_last`` is false the permutation is padded by wrapping round to a multiple of
    ``world_size`` (a few samples are seen twice); when true, the last incomplete global batch
    is dropped.
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        batch_size: int,
        shuffle: bool,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
    ) -> None:
        if len(x) != len(y):
            raise NNStudioError(f"x has {len(x)} samples but y has {len(y)}", "y")
        for name, value, low in (("batch_size", batch_size, 1), ("world_size", world_size, 1), ("seed", seed, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise NNStudioError(f"must be an integer >= {low}, got {value!r}", name)
        if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank < world_size:
            raise NNStudioError(f"must be an integer from 0 to {world_size - 1}, got {rank!r}", "rank")
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        count = len(x)
        if drop_last:
            self._total = count - count % (batch_size * world_size)
        else:
            self._total = math.ceil(count / world_size) * world_size if count else 0

    def __len__(self) -> int:
        per_rank = self._total // self.world_size
        return math.ceil(per_rank / self.batch_size)

    @property
    def samples(self) -> int:
        """Samples in an epoch, all ranks together (a rank's share of a short dataset wraps round)."""
        return self._total

    def epoch(self, epoch: int, skip: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """The batches of one epoch for this rank, leaving out the first ``skip``."""
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise NNStudioError(f"must be an integer >= 0, got {epoch!r}", "epoch")
        if not isinstance(skip, int) or isinstance(skip, bool) or not 0 <= skip <= len(self):
            raise NNStudioError(f"must be an integer from 0 to {len(self)}, got {skip!r}", "skip")
        return self._batches(self.indices(epoch), skip)

    def indices(self, epoch: int) -> Tensor:
        """This rank's sample indices for the epoch, in order (batches are consecutive runs)."""
        order = self._order(epoch)
        per_rank = self._total // self.world_size
        # Global batch k holds positions [k*B*W, (k+1)*B*W); within it rank r takes its r-th
        # share. The last global batch may be short; it is still split evenly, because the
        # total is a multiple of world_size.
        pieces = []
        step = self.batch_size * self.world_size
        for start in range(0, self._total, step):
            share = min(step, self._total - start) // self.world_size
            begin = start + self.rank * share
            pieces.append(order[begin : begin + share])
        result = torch.cat(pieces) if pieces else order[:0]
        assert len(result) == per_rank
        return result

    def _order(self, epoch: int) -> Tensor:
        count = len(self.x)
        if self.shuffle:
            generator = torch.Generator().manual_seed((self.seed * SEED_STRIDE + epoch) % 2**64)
            order = torch.randperm(count, generator=generator)
        else:
            order = torch.arange(count)
        if self._total > count:  # wrap round, as DistributedSampler pads
            order = order.repeat(math.ceil(self._total / count))
        return order[: self._total]

    def _batches(self, indices: Tensor, skip: int) -> Iterator[tuple[Tensor, Tensor]]:
        for start in range(skip * self.batch_size, len(indices), self.batch_size):
            chosen = indices[start : start + self.batch_size]
            yield self.x[chosen], self.y[chosen]
