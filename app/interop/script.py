"""``nnstudio export --code``: a project as one standalone, readable PyTorch script.

The script imports torch and the standard library and nothing of nnstudio (an .npz reader
imports numpy, inside the reader: no other script needs it). It makes the model as
:func:`app.training.prepare.make_model` does (seed, build on the CPU, the init rules, freezing, the
mode), the optimizer with the same parameter groups as :func:`app.setup.optim.build_optimizer`, the
scheduler, the data and its split, and runs a plain training loop. Selectors are resolved
here, on a meta-device copy of the network: the script names the parameters they chose.
Every value taken from the project is written with ``repr``, so a project cannot put code
into the script.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from app.errors import NNStudioError
from app.interop.script_network import INDENT, NetworkWriter, call, glue_source, glue_types
from app.interop.script_training import NO_TRAINING, data_settings, data_source, training_source
from app.network.python_network import PythonNetwork
from app.project.network_module import build_network, project_folder
from app.project.project_file import Project
from app.setup.initializers import SCHEMES, parse_init
from app.setup.modes import apply_mode, parse_mode
from app.setup.optim import build_optimizer
from app.setup.schedulers import SchedulerConfig, parse_scheduler
from app.setup.selectors import named_parameters_with_owner
from app.setup.training_section import TrainingConfig, parse_training
from app.training.prepare import apply_freeze, optimizer_config

WIDTH = 100


def generate_script(project: Project, script_name: str = "model.py") -> str:
    """The text of a Python script that builds, and trains, the project's model."""
    config = parse_training(project.training) if project.training is not None else None
    scheduler = parse_scheduler(project.scheduler)
    meta = build_network(project, device="meta")
    init_lines = _init_lines(meta, project)
    frozen = apply_freeze(meta, project.freeze)
    mode = parse_mode(project.mode)
    apply_mode(meta, mode)
    python = isinstance(project.network, PythonNetwork)
    glue = [] if isinstance(project.network, PythonNetwork) else glue_types(project.network)
    imports = _imports(config, glue, bool(mode["overrides"]), python)
    opening = "\n\n".join([_header(project, config, script_name), imports])
    sections = [opening, _settings(project, config)]
    if glue:
        sections.append(
            f"# The glue blocks nnstudio adds (torch.nn has no module for these), as nnstudio has them.\n"
            f"{glue_source(glue)}"
        )
    sections += [
        _network(project),
        _build_model(project, bool(init_lines), bool(frozen)),
        *([_init_weights(init_lines)] if init_lines else []),
        *([_freeze(frozen)] if frozen else []),
        *_set_mode(mode),
        _optimizer(meta, project),
        _scheduler(scheduler),
    ]
    if config is not None:
        sections += [
            _loss(config),
            f"# The data.\n{data_source(config)}",
            f"# Training.\n{training_source(config, scheduler.type if scheduler else None)}",
        ]
    else:
        sections.append(NO_TRAINING.strip("\n"))
    sections.append('if __name__ == "__main__":\n    main()')
    return "\n\n\n".join(sections) + "\n"


def _text(value: str) -> str:
    """Project text safe inside a docstring: printable, no quotes or backslashes to end it early."""
    kept = "".join(ch for ch in value if ch.isprintable() or ch == "\n")
    return kept.replace("\\", "\\\\").replace('"', "'")


def _comment(value: str) -> str:
    return " ".join(value.split())  # no line break can end the comment


def _header(project: Project, config: TrainingConfig | None, script_name: str) -> str:
    source = f" ({_text(project.path.name)})" if project.path is not None else ""
    script = _text(script_name)
    lines = [f'"""{_text(project.name)}: exported from nnstudio{source}.', ""]
    for paragraph in _text(project.description).strip().splitlines():
        lines += _wrap(paragraph.split(), WIDTH - 4, "") if paragraph.strip() else [""]
    if project.description.strip():
        lines.append("")
    if config is not None:
        lines += [
            f"`python {script}` trains the model as nnstudio would (--epochs N, --device cuda, --save FILE.pt).",
            "Import it to use the pieces: build_model(), build_optimizer(model), load_data(), ...",
        ]
    else:
        lines.append(f"`python {script}` prints the model and its optimizer; import it to use build_model().")
    lines.append('"""')
    return "\n".join(lines)


def _imports(config: TrainingConfig | None, glue: list[str], pinned: bool, python: bool) -> str:
    modules = set()
    if python:
        modules |= {"importlib", "importlib.util", "sys"}
    if config is not None:
        modules |= {"argparse", "math"}
        if config.dataset["name"] == "csv":
            modules.add("csv")
    if "Parallel" in glue:
        modules |= {"functools", "operator"}
    if pinned:
        modules.add("types")
    lines = ["from __future__ import annotations", ""]
    if modules:
        lines += [f"import {name}" for name in sorted(modules)] + [""]
    return "\n".join(lines + ["import torch", "from torch import nn"])


def _settings(project: Project, config: TrainingConfig | None) -> str:
    seed = parse_init(project.init).seed
    device = project.device
    note = ""
    if device.startswith("dp:"):
        note = f"  # the project uses DataParallel over {device[3:]}; this script trains on one device"
        device = f"cuda:{device[3:].split(',')[0]}"
    lines = [
        "# The project's settings.",
        f"INIT_SEED = {seed!r}  # torch.manual_seed(INIT_SEED) before the network is built",
        f"DEVICE = {device!r}{note}",
        f"TRAINING = {project.mode.get('training', True)!r}  # the mode: model.train(TRAINING); False is eval mode",
    ]
    if config is not None:
        base_dir = project.path.parent if project.path is not None else Path.cwd()
        lines += data_settings(config, base_dir)
    return "\n".join(lines)


def _network(project: Project) -> str:
    if isinstance(project.network, PythonNetwork):
        return _python_network(project.network, project)
    body = NetworkWriter().write(project.network)
    doc = '"""The network of the project: torch.nn modules, so print(build_network()) is PyTorch\'s own text."""'
    return "\n".join(["def build_network() -> nn.Module:", INDENT + doc, *body])


def _python_network(network: PythonNetwork, project: Project) -> str:
    """A Python network is imported from its own file (or package), not copied into the script:
    the user's code may span modules and change after the export, and one copy of it stays true."""
    file = network.source_file(project_folder(project))
    lines = [
        f"NETWORK_KWARGS = {network.kwargs!r}",
        "",
        "",
        "def build_network() -> nn.Module:",
        f'{INDENT}"""The project\'s network: {_text(network.name)} from its own code, imported (not copied)."""',
    ]
    if file is not None:
        lines += [
            f"{INDENT}path = {str(file)!r}",
            f"{INDENT}sys.path.insert(0, {str(file.parent)!r})  # the file's own imports of its neighbours",
            f'{INDENT}spec = importlib.util.spec_from_file_location("nnstudio_network", path)',
            f"{INDENT}code = importlib.util.module_from_spec(spec)",
            f"{INDENT}spec.loader.exec_module(code)",
        ]
    else:
        module = network.target.rpartition(":")[0]
        lines.append(f"{INDENT}code = importlib.import_module({module!r})")
    lines += [
        f"{INDENT}made = code",
        f"{INDENT}for part in {network.name.split('.')!r}:",
        f"{INDENT * 2}made = getattr(made, part)",
        f"{INDENT}return made if isinstance(made, nn.Module) else made(**NETWORK_KWARGS)",
    ]
    return "\n".join(lines)


def _build_model(project: Project, has_init: bool, has_freeze: bool) -> str:
    seeded = parse_init(project.init).seed is not None
    lines = [
        "def build_model() -> nn.Module:",
        f'{INDENT}"""The model as nnstudio makes it: seeded, built on the CPU, initialised, frozen, in its mode."""',
        f"{INDENT}torch.manual_seed(INIT_SEED)  # the layers' default initialisation draws from it"
        if seeded
        else f"{INDENT}# the project sets no seed: every build starts from different weights",
        f"{INDENT}model = build_network()",
    ]
    if has_init:
        lines.append(f"{INDENT}init_weights(model)")
    if has_freeze:
        lines.append(f"{INDENT}freeze(model)")
    lines += [f"{INDENT}set_mode(model)", f"{INDENT}return model"]
    return "\n".join(lines)


def _init_lines(meta: nn.Module, project: Project) -> list[str]:
    """One nn.init call per parameter a rule selects, in parameter order (as apply_init runs them)."""
    config = parse_init(project.init)
    calls: list[str] = []
    used: set[int] = set()
    for name, parameter, owner in named_parameters_with_owner(meta):
        index = next((i for i, rule in enumerate(config.rules) if rule.selector.matches(name, owner)), None)
        if index is None:
            continue
        rule = config.rules[index]
        scheme = SCHEMES[rule.scheme]
        function = scheme.function
        if function is None:  # "default": the layer's own reset_parameters, nothing to write
            continue
        if not scheme.min_dims <= parameter.dim() <= scheme.max_dims:
            raise NNStudioError(
                f"{rule.scheme} needs a parameter with {scheme.needs}; {name} has shape {tuple(parameter.shape)}",
                f"init.rules[{index}]",
            )
        used.add(index)
        args = "".join(f", {key}={value!r}" for key, value in {**scheme.defaults, **rule.args}.items())
        rule_note = f"  # rule {index}" if len(config.rules) > 1 else ""
        calls.append(f"{INDENT}nn.init.{function.__name__}(model.get_parameter({name!r}){args}){rule_note}")
    if not calls:
        return []
    rules = [
        f"{INDENT}# rule {i}: {config.rules[i].scheme} on {_comment(config.rules[i].selector.text)}"
        for i in sorted(used)
    ]
    return [*rules, f"{INDENT}# (each parameter takes the first rule that selects it)", *calls]


def _init_weights(lines: list[str]) -> str:
    return "\n".join(
        [
            "@torch.no_grad()",
            "def init_weights(model: nn.Module) -> None:",
            f'{INDENT}"""The project\'s init rules, on the parameters they select; '
            'the others keep PyTorch\'s default."""',
            *lines,
        ]
    )


def _freeze(names: list[str]) -> str:
    return "\n".join(
        [
            "def freeze(model: nn.Module) -> None:",
            f'{INDENT}"""requires_grad False: these parameters get no gradient and stay out of the optimizer."""',
            f"{INDENT}for name in {_string_list(names, 1)}:",
            f"{INDENT * 2}model.get_parameter(name).requires_grad_(False)",
        ]
    )


def _set_mode(mode: dict) -> list[str]:
    doc = '"""Train or eval mode, as the project sets it (dropout and batch norm behave by it)."""'
    pins = [f"{INDENT}pin_mode(model.get_submodule({path!r}), {fixed!r})" for path, fixed in mode["overrides"].items()]
    head = "def set_mode(model: nn.Module) -> None:"
    set_mode = "\n".join([head, INDENT + doc, *pins, f"{INDENT}model.train(TRAINING)"])
    if not pins:
        return [set_mode]
    pin = "\n".join(
        [
            "def pin_mode(module: nn.Module, training: bool) -> None:",
            f'{INDENT}"""Keep a module (and what it holds) in one mode, whatever model.train() or model.eval() ask."""',
            f"{INDENT}module.train = types.MethodType(lambda self, mode=True: nn.Module.train(self, training), module)",
        ]
    )
    return [pin, set_mode]


def _optimizer(meta: nn.Module, project: Project) -> str:
    config = optimizer_config(project)
    _, assignment = build_optimizer(meta, config)  # its errors (nothing trainable, a bad lr) are the app's
    cls = f"torch.optim.{config.type}"
    defaults = "".join(f", {key}={_torch_value(value)!r}" for key, value in config.defaults.items())
    head = ["def build_optimizer(model: nn.Module) -> torch.optim.Optimizer:"]
    used = [i for i, names in enumerate(assignment.names) if names]
    trainable = sum(len(names) for names in assignment.names)
    if used == [len(config.groups)]:  # everything in the default group
        if trainable == len(list(meta.parameters())):
            return "\n".join(head + [f"{INDENT}return {cls}(model.parameters(){defaults})"])
        return "\n".join(
            head
            + [
                f"{INDENT}trainable = [p for p in model.parameters() if p.requires_grad]  # frozen ones stay out",
                f"{INDENT}return {cls}(trainable{defaults})",
            ]
        )
    lines = head + [
        f'{INDENT}"""One parameter group per group of the project that selected something; the default one last."""',
        f"{INDENT}parameters = dict(model.named_parameters())",
        "",
        f"{INDENT}def pick(names: list[str]) -> list[nn.Parameter]:",
        f"{INDENT * 2}return [parameters[name] for name in names]",
        "",
        f"{INDENT}groups = [",
    ]
    for index in used:
        label = f"select: {config.groups[index].selector.text}" if index < len(config.groups) else "the default group"
        hyper = config.groups[index].hyper if index < len(config.groups) else {}
        names = _string_list(assignment.names[index], 3)
        lines += [f"{INDENT * 2}{{  # {_comment(label)}", f"{INDENT * 3}'params': pick({names}),"]
        lines += [f"{INDENT * 3}{key!r}: {_torch_value(value)!r}," for key, value in hyper.items()]
        lines.append(f"{INDENT * 2}}},")
    lines += [f"{INDENT}]", f"{INDENT}return {cls}(groups{defaults})"]
    return "\n".join(lines)


def _torch_value(value):
    return tuple(value) if isinstance(value, list) else value  # betas=(0.9, 0.999), as torch keeps them


def _scheduler(config: SchedulerConfig | None) -> str:
    head = "def build_scheduler(optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int):"
    if config is None:
        return "\n".join(
            [
                head,
                f'{INDENT}"""The project has no scheduler: the learning rates stay as set."""',
                f"{INDENT}return None",
            ]
        )
    args = {key: repr(value) for key, value in config.args.items()}
    when = {"OneCycleLR": "after every batch", "ReduceLROnPlateau": "on the validation loss after every epoch"}
    if config.type == "CosineAnnealingLR":
        args.setdefault("T_max", "epochs")
    if config.type == "OneCycleLR":
        args.setdefault("max_lr", "[group['lr'] for group in optimizer.param_groups]")
        args.setdefault("total_steps", "max(1, epochs * steps_per_epoch)")
    constructor = f"torch.optim.lr_scheduler.{config.type}"
    text = f"{INDENT}return {constructor}(optimizer{''.join(f', {key}={value}' for key, value in args.items())})"
    if len(text) > WIDTH:
        lines = "".join(f"{INDENT * 2}{key}={value},\n" for key, value in args.items())
        text = f"{INDENT}return {constructor}(\n{INDENT * 2}optimizer,\n{lines}{INDENT})"
    doc = f'{INDENT}"""{config.type}, stepped {when.get(config.type, "after every epoch")}."""'
    return "\n".join([head, doc, text])


def _loss(config: TrainingConfig) -> str:
    return "\n".join(["def build_loss() -> nn.Module:", f"{INDENT}return {call(config.loss)}"])


def _string_list(names: list[str], depth: int) -> str:
    """A list of strings, wrapped to the page width, its lines indented ``depth`` levels."""
    items = [f"{name!r}," for name in names]
    one_line = f"[{' '.join(items)[:-1]}]"
    if len(one_line) + len(INDENT) * depth + 30 <= WIDTH:
        return one_line
    lines = _wrap(items, WIDTH - len(INDENT) * (depth + 1), INDENT * (depth + 1))
    return "[\n" + "\n".join(lines) + f"\n{INDENT * depth}]"


def _wrap(words: list[str], width: int, indent: str) -> list[str]:
    lines, current = [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(indent + current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return lines + ([indent + current] if current else [])


__all__ = ["generate_script"]
