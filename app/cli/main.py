"""The ``nnstudio`` command (also ``python -m app``).

Every error prints one message to stderr and exits 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence

from app.cli.consent import add_allow_code_flag
from app.errors import NNStudioError

EXIT_ERROR = 2
COMMANDS = ("summary", "validate", "train", "devices", "bench", "import", "weights", "export")


class CommandError(NNStudioError):
    """Wrong use of the command line itself."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 with usage; keep that, without a traceback
        raise CommandError(f"{message}\n{self.format_usage().strip()}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nnstudio", description="A workbench for PyTorch's torch.nn.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    summary = commands.add_parser("summary", help="print(model), shapes and parameter counts, warnings")
    summary.add_argument("target", nargs="?", help="a project file (.nnproj)")
    summary.add_argument("--model", help="inspect a Python model: FILE.py:NAME or package.module:NAME (runs its code)")
    summary.add_argument("--model-kwargs", help="JSON object of keyword arguments for --model")
    summary.add_argument("--input-shape", action="append", default=[], help="e.g. 2,3,32,32; repeat per input")
    summary.add_argument("--input-dtype", action="append", default=[], help="e.g. int64; once or once per input")
    summary.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_allow_code_flag(summary)
    summary.add_argument(
        "--device", help="cpu, cuda:N, mps or dp:0,1: does a training step fit it? (default: the project's)"
    )

    validate = commands.add_parser("validate", help="check a project file; exit 0 or 2 with the reason")
    validate.add_argument("project")

    train = commands.add_parser("train", help="train headless: progress, metrics.jsonl, weights, checkpoint")
    train.add_argument("project")
    train.add_argument("--epochs", type=int, help="override the project's epochs")
    train.add_argument("--device", help="cpu, cuda, cuda:N, mps or dp:0,1 (DataParallel); default: the project's")
    train.add_argument("--out", help="folder for metrics.jsonl, weights.safetensors, checkpoint.* (default runs/NAME)")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue exactly from a checkpoint (.json)")
    train.add_argument("--ddp", action="store_true", help="DistributedDataParallel; launch with torchrun")
    train.add_argument("--tensorboard", metavar="DIR", help="also write TensorBoard event files to DIR")
    add_allow_code_flag(train)

    devices = commands.add_parser("devices", help="the devices this machine offers to --device, with name and memory")
    devices.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    from app.cli.export import add_export_parser
    from app.cli.import_network import add_import_parser
    from app.cli.weights import add_weights_parser

    add_import_parser(commands)
    add_weights_parser(commands)
    add_export_parser(commands)

    bench = commands.add_parser("bench", help="benchmarks that print one JSON object")
    bench.add_argument("what", choices=["analysis", "engine", "tree", "gui"])
    return parser


def build_gui_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nnstudio", description="Open the desktop app, optionally on a project.")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("project", nargs="?")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window offscreen to a PNG and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return _dispatch(argv)
    except (NNStudioError, OSError) as error:
        return _fail(str(error), debug)
    except KeyboardInterrupt:
        return _fail("interrupted", debug)
    except Exception as error:  # a bug: still one line, with the way to see more
        return _fail(f"unexpected {type(error).__name__}: {error} (run with --debug for the traceback)", debug)


def _fail(message: str, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"nnstudio: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _dispatch(argv: list[str]) -> int:
    first = next((a for a in argv if a != "--debug"), None)
    if first in ("-h", "--help") or first in COMMANDS:
        args = build_parser().parse_args(argv)
        if args.command == "summary":
            from app.cli.summary import run_summary

            return run_summary(args)
        if args.command == "train":
            from app.cli.train import run_train

            return run_train(args)
        if args.command == "validate":
            return _validate(args.project)
        if args.command == "devices":
            return _devices(args.json)
        if args.command == "bench":
            return _bench(args.what)
        if args.command == "import":
            from app.cli.import_network import run_import

            return run_import(args)
        if args.command == "weights":
            from app.cli.weights import run_weights

            return run_weights(args)
        if args.command == "export":
            from app.cli.export import run_export

            return run_export(args)
    args = build_gui_parser().parse_args(argv)
    return _open_gui(args.project, args.screenshot)


def _validate(path: str) -> int:
    from app.network.spec import Node
    from app.project.project_file import load_project

    project = load_project(path)
    network = project.network
    if isinstance(network, Node):
        what = f"{sum(1 for _ in network.walk())} modules"
    else:  # validating never runs code: the file is named, not imported
        what = f"a Python network, {network.target}, not run"
    print(f"{path}: valid ({project.name}, {what})")
    return 0


def _devices(as_json: bool) -> int:
    from dataclasses import asdict

    from app.setup.devices import discover

    found = discover()
    if as_json:
        print(json.dumps({"devices": [asdict(device) for device in found]}))
        return 0
    width = max(len(device.id) for device in found)
    for device in found:
        memory = f"  {device.memory_bytes / 2**30:.1f} GiB" if device.memory_bytes else ""
        print(f"{device.id:<{width}}  {device.name}{memory}")
    cuda = [device.id.removeprefix("cuda:") for device in found if device.id.startswith("cuda:")]
    if cuda:
        print(f"DataParallel over them: --device dp:{','.join(cuda)}")
    return 0


def _bench(what: str) -> int:
    if what in ("tree", "gui"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        gui = _gui()
        print(json.dumps(gui.bench_tree() if what == "tree" else gui.bench_gui()))
        return 0
    if what == "engine":
        from app.cli.bench_engine import bench_engine

        print(json.dumps(bench_engine()))
        return 0
    from app.cli.bench_analysis import bench_analysis

    print(json.dumps(bench_analysis()))
    return 0


def _open_gui(project: str | None, screenshot: str | None) -> int:
    if screenshot is None and not _has_display():
        raise CommandError(
            "no display to open the window on. Run it offscreen with QT_QPA_PLATFORM=offscreen "
            "(e.g. with --screenshot out.png), use a virtual display (xvfb-run nnstudio ...), "
            "or work headless: nnstudio summary PROJECT"
        )
    if project is not None:
        from app.project.project_file import load_project

        load_project(project)  # a broken file is reported here, before any window opens
    return _gui().launch(project, screenshot)


def _gui():
    """The desktop app's entry points, imported only when asked for: the core never needs Qt."""
    try:
        import widgets.launch
    except ImportError as error:
        raise CommandError(f"the desktop app cannot start: {error} (is PySide6 installed?)") from None
    return widgets.launch


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in ("win32", "darwin")
