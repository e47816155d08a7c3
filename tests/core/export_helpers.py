"""A project that uses every kind of container, glue block and setting the code export writes."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import torch

from app.interop.script import generate_script


def lin(name: str | None = None, inputs: int = 8, outputs: int = 8) -> dict:
    node = {"type": "Linear", "args": {"in_features": inputs, "out_features": outputs}}
    return {"name": name, **node} if name else node


def mixed_network() -> dict:
    """Positional and named children, a named container inside a positional one (construction
    order), Parallel, Chain over a ModuleList, a Residual whose body holds named children."""
    return {
        "type": "Sequential",
        "children": [
            lin(inputs=2),
            {"type": "Sequential", "children": [lin("a"), {"name": "b", "type": "ReLU"}]},
            {
                "type": "Parallel",
                "args": {"join": "sum"},
                "children": [
                    lin(),
                    {"type": "Sequential", "children": [lin(), {"type": "Tanh"}]},
                ],
            },
            {
                "type": "Chain",
                "children": [
                    {"type": "ModuleList", "children": [lin(), {"type": "ReLU"}]},
                    {"type": "Dropout", "args": {"p": 0.1}},
                ],
            },
            {
                "type": "Residual",
                "children": [
                    {"name": "body", "type": "Sequential", "children": [lin("inner")]},
                    lin("projection"),
                ],
            },
            {"type": "BatchNorm1d", "args": {"num_features": 8}},
            {"type": "Dropout", "args": {"p": 0.2}},
            lin(outputs=3),
        ],
    }


def mixed_project(**changes) -> dict:
    """Init rules (three schemes, interleaved), freezing, a mode override, optimizer groups
    (one that matches nothing), OneCycleLR and a small spirals dataset."""
    project = {
        "format": "nnstudio-project",
        "version": 2,
        "name": "mixed",
        "description": "every export path",
        "inputs": [{"shape": [16, 2], "dtype": "float32"}],
        "init": {
            "seed": 7,
            "rules": [
                {"select": "*.bias", "scheme": "zeros"},
                {"select": {"types": ["BatchNorm1d"]}, "scheme": "normal", "args": {"mean": 1.0, "std": 0.02}},
                {"select": {"paths": ["2.*", "4.*"]}, "scheme": "orthogonal", "args": {"gain": 0.5}},
                {"select": {"types": ["Linear"]}, "scheme": "xavier_uniform"},
            ],
        },
        "freeze": ["1.a"],
        "mode": {"training": True, "overrides": {"3": False}},
        "optimizer": {
            "type": "AdamW",
            "defaults": {"lr": 0.01, "betas": [0.8, 0.99]},
            "groups": [
                {"select": "2", "lr": 0.02},
                {"select": "*.bias", "weight_decay": 0.0},
                {"select": "nothing_here", "lr": 1.0},
            ],
        },
        "scheduler": {"type": "OneCycleLR", "args": {"pct_start": 0.4}},
        "training": {
            "dataset": {"name": "spirals", "size": 240, "classes": 3, "noise": 0.2, "seed": 3},
            "loss": {"type": "CrossEntropyLoss", "args": {"label_smoothing": 0.1}},
            "epochs": 2,
            "batch_size": 16,
            "val_split": 0.25,
            "shuffle": True,
            "seed": 5,
        },
        "network": mixed_network(),
    }
    project.update(changes)
    return project


def import_script(path: Path, name: str) -> ModuleType:
    """Import a generated script as a module (its main() does not run)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def same_tensors(first: dict, second: dict) -> bool:
    return first.keys() == second.keys() and all(
        first[k].dtype == second[k].dtype and torch.equal(first[k], second[k]) for k in first
    )


def write_script(project, tmp_path: Path, name: str = "model") -> Path:
    """The project's exported script, written to ``tmp_path/name.py``."""
    path = tmp_path / f"{name}.py"
    path.write_text(generate_script(project, path.name))
    return path


def imports_by_scope(text: str) -> dict[str, set[str]]:
    """The modules imported at the module level ("") and inside each function (by its name)."""
    scopes: dict[str, set[str]] = {}

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Import):
                scopes.setdefault(scope, set()).update(alias.name.split(".")[0] for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                scopes.setdefault(scope, set()).add((child.module or "").split(".")[0])
            visit(child, scope)

    visit(ast.parse(text), "")
    return scopes
