"""``nnstudio summary``: print(model), the per-layer table, training memory and the lint warnings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from torch import nn

from app.errors import NNStudioError
from app.network.analysis import analyse
from app.network.inputs import InputSpec, inputs_from_cli
from app.network.lint import lint
from app.network.report import format_summary
from app.project.network_module import build_network
from app.setup.memory_text import fit_line, memory_lines
from app.setup.optim import build_optimizer
from app.training.estimate import estimate
from app.training.prepare import apply_freeze, optimizer_config

if TYPE_CHECKING:
    from app.project.project_file import Project


def run_summary(args: argparse.Namespace) -> int:
    model, inputs, project = _model_and_inputs(args)
    if project is not None:
        apply_freeze(model, project.freeze)  # trainable counts, gradients and state as training sees them
    analysis = analyse(model, inputs)
    warnings = [warning.message for warning in lint(model)]
    device = args.device or (project.device if project is not None else None)
    cost = estimate(model, analysis, inputs, project, device, "--device" if args.device else "device")
    optimizer_text = None
    if project is not None and project.optimizer is not None:
        optimizer, assignment = build_optimizer(model, optimizer_config(project))
        optimizer_text = repr(optimizer)
        warnings += assignment.warnings(optimizer_config(project))
    if args.json:
        extra = {"optimizer": optimizer_text} if optimizer_text is not None else {}
        print(json.dumps({**analysis.to_json(), **cost.to_json(), "warnings": warnings, **extra}))
    else:
        print(model)
        print()
        print(format_summary(analysis, inputs, warnings))
        if cost.memory is not None:
            print("\n".join(memory_lines(cost.memory)))
        if cost.fit is not None:
            print(fit_line(cost.fit))
        if optimizer_text is not None:
            print()
            print(optimizer_text)
    if analysis.error is not None:
        print(f"nnstudio: error: {analysis.error}", file=sys.stderr)
        return 2
    return 0


def _model_and_inputs(args: argparse.Namespace) -> tuple[nn.Module, list[InputSpec] | None, Project | None]:
    cli_inputs = inputs_from_cli(args.input_shape, args.input_dtype) or None
    if args.model and args.target:
        raise NNStudioError("give either a project file or --model, not both", "summary")
    if args.model:
        from app.network.usermodel import load_user_model, parse_model_kwargs

        kwargs = parse_model_kwargs(args.model_kwargs) if args.model_kwargs else {}
        return load_user_model(args.model, kwargs, device="meta"), cli_inputs, None
    if args.target:
        from app.cli.consent import load_project_with_consent

        project = load_project_with_consent(args.target, args)
        return build_network(project, device="meta"), cli_inputs or project.inputs, project
    raise NNStudioError("give a project file (nnstudio summary PROJECT) or --model FILE.py:NAME", "summary")
