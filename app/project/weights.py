"""Weights beside a project: a safetensors file, written atomically, read without unpickling."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import Tensor

from app.atomic import Writer, write_all_atomic
from app.errors import ProjectError


def prepare_tensors(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Tensors safetensors can store: detached, on the CPU, contiguous, no two sharing memory.

    A state dict often shares memory (tied weights, a view of a buffer); safetensors refuses
    that, so every tensor after the first one on a storage is cloned.
    """
    if not isinstance(state_dict, dict):
        raise ProjectError(f"must be a dict of tensors, got {type(state_dict).__name__}", "state_dict")
    tensors: dict[str, Tensor] = {}
    storages: set[int] = set()
    for name, tensor in state_dict.items():
        if not isinstance(name, str) or not isinstance(tensor, Tensor):
            raise ProjectError(f"must map names to tensors, got {name!r}: {type(tensor).__name__}", "state_dict")
        if tensor.is_meta:
            raise ProjectError("is on the meta device and has no values to save", f"state_dict.{name}")
        tensor = tensor.detach().to("cpu").contiguous()
        storage = tensor.untyped_storage().data_ptr()
        if tensor.numel() and storage in storages:
            tensor = tensor.clone()
        elif tensor.numel():
            storages.add(storage)
        tensors[name] = tensor
    return tensors


def writer(tensors: dict[str, Tensor]) -> Writer:
    return lambda temp: save_file(tensors, str(temp))


def copier(source: Path) -> Writer:
    return lambda temp: shutil.copyfile(source, temp)


def write_files(files: Sequence[tuple[Path, Writer]]) -> None:
    write_all_atomic(files)


def load(path: Path, where: str) -> dict[str, Tensor]:
    """The tensors in a safetensors file, on the CPU; a ProjectError names the file if it cannot."""
    if not path.is_file():
        raise ProjectError(f"the weights file {str(path)!r} does not exist", where)
    try:
        return load_file(str(path), device="cpu")
    except Exception as error:  # safetensors' own errors for a damaged or foreign file
        text = str(error).strip().splitlines()
        reason = text[0] if text else type(error).__name__
        raise ProjectError(f"the weights file {str(path)!r} cannot be read: {reason}", where) from None


__all__ = ["prepare_tensors", "writer", "copier", "write_files", "load"]
