"""Where a model runs: discovery of CPU, CUDA and MPS devices, and placement on one of them.

A placement is written as ``cpu``, ``cuda`` / ``cuda:N``, ``mps`` or ``dp:0,1`` (nn.DataParallel over
those CUDA devices). DistributedDataParallel is chosen at launch (``torchrun ... --ddp``), not here.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass, field

import torch
from torch import nn

from app.errors import NNStudioError


class DeviceError(NNStudioError):
    """A device that is not on this machine, or a placement that cannot be written."""


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # "cpu", "cuda:0", "mps"
    name: str
    memory_bytes: int | None  # total memory, None where unknown


@dataclass(frozen=True)
class Placement:
    kind: str  # "cpu" | "cuda" | "mps" | "dp"
    index: int | None = None  # for cuda
    ids: tuple[int, ...] = field(default=())  # for dp

    @property
    def device(self) -> torch.device:
        if self.kind == "dp":
            return torch.device(f"cuda:{self.ids[0]}")
        if self.kind == "cuda":
            return torch.device(f"cuda:{self.index or 0}")
        return torch.device(self.kind)

    def __str__(self) -> str:
        if self.kind == "dp":
            return "dp:" + ",".join(map(str, self.ids))
        return f"cuda:{self.index}" if self.kind == "cuda" and self.index is not None else self.kind


_PATTERN = re.compile(r"^(cpu|mps|cuda(?::(\d+))?|dp:(\d+(?:,\d+)*))$")


def parse_placement(text: object, where: str = "device") -> Placement:
    if not isinstance(text, str) or (match := _PATTERN.match(text)) is None:
        raise DeviceError(f"must be cpu, cuda, cuda:N, mps or dp:0,1 (DataParallel ids), got {text!r}", where)
    if text.startswith("dp:"):
        ids = tuple(int(i) for i in match.group(3).split(","))
        if len(set(ids)) != len(ids):
            raise DeviceError(f"DataParallel device ids repeat: {text}", where)
        return Placement("dp", ids=ids)
    if text.startswith("cuda"):
        return Placement("cuda", int(match.group(2)) if match.group(2) else None)
    return Placement(text)


def discover() -> list[DeviceInfo]:
    """Every device this process can use, CPU first."""
    devices = [DeviceInfo("cpu", _cpu_name(), _ram_bytes())]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(DeviceInfo(f"cuda:{index}", props.name, props.total_memory))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "Apple Metal (MPS)", None))
    return devices


def why_unavailable(placement: Placement) -> str | None:
    """None when the placement can be used here, else a sentence that lists what is here."""
    present = [d.id for d in discover()]
    wanted = {
        "cpu": [],
        "mps": ["mps"],
        "cuda": [f"cuda:{placement.index or 0}"],
        "dp": [f"cuda:{i}" for i in placement.ids],
    }[placement.kind]
    missing = [d for d in wanted if d not in present]
    if not missing:
        return None
    reason = (
        "" if torch.cuda.is_available() else " (torch.cuda.is_available() is False: no CUDA GPU or a CPU-only torch)"
    )
    return f"{', '.join(missing)} is not available{reason}; devices here: {', '.join(present)}"


def check_available(placement: Placement, where: str = "device") -> None:
    problem = why_unavailable(placement)
    if problem:
        raise DeviceError(problem, where)


def place(model: nn.Module, placement: Placement) -> nn.Module:
    """Move the model; for dp wrap it in nn.DataParallel over the chosen ids."""
    check_available(placement)
    model = model.to(placement.device)
    if placement.kind == "dp":
        return nn.DataParallel(model, device_ids=list(placement.ids))
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The user's model inside DataParallel / DistributedDataParallel: its weights have no 'module.' prefix."""
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def _ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
