"""``nnstudio weights PROJECT --load FILE.safetensors``: set a project's weights from a file.

The file is checked against the network first: missing and unexpected keys, shape and dtype
mismatches. Nothing is written unless it fits, or ``--partial`` asks for the matching tensors
only. The project (or ``--out``) is saved with the weights beside it, atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.consent import add_allow_code_flag
from app.errors import NNStudioError

SUFFIX = ".nnproj"  # app.project.project_file's; not imported here, so --help stays quick


def add_weights_parser(commands) -> None:
    parser = commands.add_parser("weights", help="load a safetensors file into a project, with a report of what fits")
    parser.add_argument("project", help="the project file (.nnproj)")
    parser.add_argument("--load", required=True, metavar="FILE", help="a .safetensors file (pickles are never read)")
    parser.add_argument("--partial", action="store_true", help="load only the tensors that fit; keep the rest")
    parser.add_argument("--out", help="write the project and its weights here instead of in place (.nnproj)")
    parser.add_argument("--check", action="store_true", help="only report what fits; write nothing")
    add_allow_code_flag(parser)


def run_weights(args: argparse.Namespace) -> int:
    from app.cli.consent import load_project_with_consent
    from app.interop.weights_import import WeightsError, check_weights, read_weights_file, set_project_weights
    from app.project.project_file import save_project

    project = load_project_with_consent(args.project, args)
    out = Path(args.out) if args.out else Path(args.project)
    if args.out and out.suffix != SUFFIX:
        raise NNStudioError(f"must end in {SUFFIX}, got {args.out!r}", "--out")
    if args.check:
        from app.project.network_module import build_network

        report = check_weights(build_network(project, device="meta"), read_weights_file(args.load))
        _print_report(report.lines())
        if not report.clean:
            raise WeightsError("the weights do not fit the network: " + "; ".join(report.problems()), args.load, report)
        return 0
    try:
        report = set_project_weights(project, args.load, partial=args.partial)
    except WeightsError as error:
        if error.report is not None:
            _print_report(error.report.lines())
        raise
    _print_report(report.lines())
    model = report.model
    assert model is not None  # set_project_weights returns the model it loaded
    save_project(project, out, model.state_dict())
    weights = project.weights  # named by the save, after the file it wrote
    assert weights is not None
    kept = len(model.state_dict()) - len(report.loaded)
    rest = f"; {kept} kept their current values" if kept else ""
    print(
        f"loaded {len(report.loaded)} tensors from {args.load}{rest}; saved {out} with weights {out.parent / weights}"
    )
    return 0


def _print_report(lines: list[str]) -> None:
    for line in lines:
        print(line)
