"""Checkpoints without pickle: tensors in safetensors, everything else in JSON.

``NAME.safetensors`` holds ``model.*`` (the unwrapped model's state_dict), ``optim.<i>.<key>``
(optimizer state per parameter index) and ``rng.*`` (RNG states as uint8 tensors);
``NAME.json`` holds the step, epoch, batch, the optimizer's param groups, the scheduler's state.
Both are written atomically, tensors first.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from app.atomic import write_all_atomic
from app.errors import NNStudioError

FORMAT = "nnstudio-checkpoint"
VERSION = 1


@dataclass
class TrainingState:
    step: int  # optimizer steps done
    epoch: int  # the epoch in progress (or the next one, when batch == 0)
    batch: int  # batches of that epoch already done
    model: dict
    optimizer: dict
    scheduler: dict | None
    rng: dict  # "torch" and "cuda.<i>" ByteTensors


def save_checkpoint(path: Path, state: TrainingState, extra: dict | None = None) -> Path:
    path = Path(path).with_suffix("")
    tensors = {f"model.{k}": v for k, v in state.model.items()}
    json_state: dict = {}
    for index, values in state.optimizer["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
            else:
                json_state.setdefault(str(index), {})[key] = value
    tensors.update({f"rng.{k}": v for k, v in state.rng.items()})
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "step": state.step,
        "epoch": state.epoch,
        "batch": state.batch,
        "optimizer": {"param_groups": state.optimizer["param_groups"], "state": json_state},
        "scheduler": _jsonable(state.scheduler),
        **(extra or {}),
    }
    write_all_atomic(
        [
            (path.with_suffix(".safetensors"), lambda tmp: save_file(tensors, str(tmp))),
            (path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(meta, indent=1) + "\n")),
        ]
    )
    return path.with_suffix(".json")


def load_checkpoint(path: Path) -> tuple[TrainingState, dict]:
    """Accepts NAME, NAME.json or NAME.safetensors."""
    base = Path(path)
    base = base.with_suffix("") if base.suffix in (".json", ".safetensors") else base
    try:
        meta = json.loads(base.with_suffix(".json").read_text())
        tensors = load_file(str(base.with_suffix(".safetensors")))
    except (OSError, ValueError) as error:
        raise NNStudioError(f"cannot read the checkpoint: {error}", str(base)) from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise NNStudioError(f"not an nnstudio checkpoint (format {FORMAT!r} expected)", str(base.with_suffix(".json")))
    model = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    optim_state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            optim_state.setdefault(int(index), {})[name] = value
    for index, values in meta["optimizer"]["state"].items():
        optim_state.setdefault(int(index), {}).update(values)
    optimizer = {"state": optim_state, "param_groups": meta["optimizer"]["param_groups"]}
    state = TrainingState(meta["step"], meta["epoch"], meta["batch"], model, optimizer, meta["scheduler"], rng)
    return state, meta


def _jsonable(value):
    """Scheduler states hold numbers, lists and strings; drop what JSON cannot hold (functions)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if _is_data(v)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def _is_data(value) -> bool:
    if isinstance(value, (dict, list, tuple, str, bool, int, type(None), torch.Tensor)):
        return True
    return isinstance(value, float) and (math.isfinite(value) or math.isinf(value))


def rng_state(device: torch.device) -> dict:
    states = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        states[f"cuda.{device.index or 0}"] = torch.cuda.get_rng_state(device)
    return states


def restore_rng(states: dict, device: torch.device) -> None:
    torch.set_rng_state(states["torch"])
    key = f"cuda.{device.index or 0}"
    if device.type == "cuda" and key in states:
        torch.cuda.set_rng_state(states[key], device)
