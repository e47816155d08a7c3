"""``nnstudio export PROJECT [--code FILE.py] [--onnx FILE.onnx] [--weights FILE.safetensors]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.atomic import write_all_atomic
from app.cli.consent import add_allow_code_flag, load_project_with_consent
from app.errors import NNStudioError


def add_export_parser(commands) -> None:
    """The subcommand's arguments, on the CLI's subparsers."""
    export = commands.add_parser("export", help="write the project as a PyTorch script, an ONNX file or weights")
    export.add_argument("project")
    export.add_argument(
        "--code", metavar="FILE.py", help="a standalone PyTorch script that builds and trains the model"
    )
    export.add_argument("--onnx", metavar="FILE.onnx", help="the model in ONNX, for the project's input shapes")
    export.add_argument(
        "--weights", metavar="FILE.safetensors", help="the model's state_dict (saved weights, else the initial ones)"
    )
    add_allow_code_flag(export)


def run_export(args: argparse.Namespace) -> int:
    if not (args.code or args.onnx or args.weights):
        raise NNStudioError(
            "say what to write: --code FILE.py, --onnx FILE.onnx and/or --weights FILE.safetensors", "export"
        )
    if args.onnx:
        from app.interop.onnx_export import require_onnx

        require_onnx()  # before anything is written
    project = load_project_with_consent(args.project, args)
    if args.code:
        from app.interop.script import generate_script

        path = Path(args.code)
        text = generate_script(project, path.name)
        write_all_atomic([(path, lambda temp: temp.write_text(text, encoding="utf-8"))])
        print(f"code: {path} (run it with: python {path})")
    if args.onnx:
        from app.interop.onnx_export import export_onnx

        export_onnx(project, args.onnx)
        print(f"onnx: {args.onnx} (checked with onnx.checker)")
    if args.weights:
        _write_weights(project, Path(args.weights))
    return 0


def _write_weights(project, path: Path) -> None:
    from app.project.weights import prepare_tensors, write_files, writer
    from app.training.prepare import make_model

    model = make_model(project)  # its saved weights if it has them, else the seeded init
    write_files([(path, writer(prepare_tensors(model.state_dict())))])
    source = "saved weights" if project.weights is not None else "initial weights"
    print(f"weights: {path} ({source}, {len(model.state_dict())} tensors)")
