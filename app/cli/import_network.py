"""``nnstudio import TARGET --out PROJECT.nnproj``: a Python network as an editable project.

This imports the file and runs its code (that is what makes it a separate, explicit command).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.errors import NNStudioError

SUFFIX = ".nnproj"  # app.project.project_file's; not imported here, so --help stays quick


def add_import_parser(commands) -> None:
    parser = commands.add_parser(
        "import", help="turn a Python network (FILE.py:NAME or package.module:NAME) into a project (runs its code)"
    )
    parser.add_argument("target", help="FILE.py:NAME or package.module:NAME, a class or a function returning a module")
    parser.add_argument("--out", required=True, help="the project file to write (.nnproj)")
    parser.add_argument("--model-kwargs", help="JSON object of keyword arguments for NAME")
    parser.add_argument(
        "--weights", action="store_true", help="keep the network's own weights (saved beside the project)"
    )
    parser.add_argument("--input-shape", action="append", default=[], help="e.g. 2,3,32,32; repeat per input")
    parser.add_argument("--input-dtype", action="append", default=[], help="e.g. int64; once or once per input")
    parser.add_argument("--name", help="the project's name (default: NAME)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")


def run_import(args: argparse.Namespace) -> int:
    from app.interop.python_import import import_project
    from app.network.inputs import inputs_from_cli
    from app.network.spec import Node
    from app.network.usermodel import parse_model_kwargs

    out = Path(args.out)
    if out.suffix != SUFFIX:
        raise NNStudioError(f"must end in {SUFFIX}, got {args.out!r}", "--out")
    if out.exists() and not args.force:
        raise NNStudioError("exists already; add --force to replace it", str(out))
    inputs = inputs_from_cli(args.input_shape, args.input_dtype) or None
    kwargs = parse_model_kwargs(args.model_kwargs)
    result = import_project(args.target, kwargs, with_weights=args.weights, inputs=inputs, name=args.name)
    result.save(out)
    project = result.project
    network = project.network
    modules = sum(1 for _ in network.walk()) if isinstance(network, Node) else sum(1 for _ in result.model.modules())
    parameters = sum(p.numel() for p in result.model.parameters())
    weights = f"; weights: {out.parent / project.weights}" if project.weights else ""
    print(f"imported {args.target} into {out}: {modules} modules, {parameters:,} parameters{weights}")
    for note in result.notes:
        print(f"note: {note}")
    return 0
