"""DistributedDataParallel for runs launched by torchrun: gloo on CPU, nccl on CUDA.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; every rank builds the same model from the same
seed, DDP averages the gradients, and each rank trains on its own slice of every batch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from app.errors import NNStudioError
from app.setup.devices import Placement, check_available


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    placement: Placement

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def start(placement: Placement) -> DistributedContext:
    """Join the process group torchrun set up; the device is cpu or this rank's own GPU."""
    missing = [name for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR") if name not in os.environ]
    if missing:
        raise NNStudioError(
            f"--ddp needs a launch by torchrun ({', '.join(missing)} not set): "
            "torchrun --nproc_per_node=2 -m app train PROJECT --ddp",
            "--ddp",
        )
    if placement.kind == "dp":
        raise NNStudioError("use either --ddp or a dp: device, not both", "--device")
    rank, world_size, local_rank = (int(os.environ[n]) for n in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if placement.kind == "cuda":
        placement = Placement("cuda", local_rank)
        check_available(placement, "--device")
        torch.cuda.set_device(local_rank)
    backend = "nccl" if placement.kind == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistributedContext(rank, world_size, local_rank, placement)


def wrap(model: nn.Module, context: DistributedContext) -> nn.Module:
    device_ids = [context.local_rank] if context.placement.kind == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def weight_digest(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()


def gather_weight_digests(model: nn.Module) -> list[str]:
    """Every rank's digest of its weights, in rank order (all ranks must call this)."""
    digests: list[str | None] = [None] * dist.get_world_size()
    dist.all_gather_object(digests, weight_digest(model))
    return [d or "" for d in digests]


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
