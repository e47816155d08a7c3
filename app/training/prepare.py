"""From a project to everything a training run needs: config, model, loss, optimizer, data.

The model is made the same way everywhere (desktop, headless, exported checks): seed, build on
CPU, then saved weights if the project has them, else the init rules; then freezing and mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from app.data.loading import Batches, Data, load_data
from app.errors import NNStudioError
from app.network.build import build
from app.project.network_module import build_network
from app.project.project_file import Project, load_weights
from app.setup.devices import Placement, parse_placement, place, unwrap
from app.setup.initializers import apply_init, parse_init
from app.setup.modes import apply_mode, parse_mode
from app.setup.optim import GroupAssignment, OptimizerConfig, build_optimizer, group_labels, parse_optimizer
from app.setup.schedulers import SchedulerConfig, build_scheduler, parse_scheduler
from app.setup.selectors import parse_selector, select
from app.setup.training_section import TrainingConfig, bounded_int, parse_training

DEFAULT_OPTIMIZER = {"type": "Adam", "defaults": {"lr": 0.001}}


def optimizer_config(project: Project) -> OptimizerConfig:
    return parse_optimizer(project.optimizer if project.optimizer is not None else DEFAULT_OPTIMIZER, "optimizer")


def apply_freeze(model: nn.Module, selectors: list, where: str = "freeze") -> list[str]:
    """requires_grad False on every selected parameter; returns their names."""
    frozen = []
    for i, data in enumerate(selectors):
        for name, parameter in select(model, parse_selector(data, f"{where}[{i}]")):
            parameter.requires_grad_(False)
            frozen.append(name)
    return frozen


def make_model(project: Project, use_weights: bool = True) -> nn.Module:
    """The project's model on CPU: reproducible from the seed, or its saved weights."""
    init = parse_init(project.init)
    if init.seed is not None:
        torch.manual_seed(init.seed)
    model = build_network(project, device="cpu")
    weights = load_weights(project) if use_weights else None
    if weights is not None:
        result = model.load_state_dict(weights, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise NNStudioError(
                f"the weights do not fit the network: missing {result.missing_keys[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}",
                "weights",
            )
    else:
        apply_init(model, init)
    apply_freeze(model, project.freeze)
    apply_mode(model, parse_mode(project.mode))
    return model


@dataclass
class Setup:
    """Everything one run uses. ``model`` may be wrapped (DataParallel / DDP); ``core`` never is."""

    config: TrainingConfig
    model: nn.Module
    core: nn.Module
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler | None
    scheduler_config: SchedulerConfig | None
    assignment: GroupAssignment
    groups: list[str]
    data: Data
    batches: Batches
    device: torch.device
    placement: Placement
    mode: dict = field(default_factory=dict)
    rank: int = 0
    world_size: int = 1


def prepare(
    project: Project,
    *,
    placement: str | None = None,
    epochs: int | None = None,
    model: nn.Module | None = None,
    data: Data | None = None,
    rank: int = 0,
    world_size: int = 1,
    wrap=None,
) -> Setup:
    """Build a run. ``wrap`` (for DDP) turns the placed model into the module that is trained."""
    if project.training is None:
        raise NNStudioError("the project has no training section (dataset, loss, epochs, ...)", "training")
    config = parse_training(project.training)
    if epochs is not None:
        config.epochs = bounded_int(epochs, "--epochs", 1, 100_000)
    where_device = "--device" if placement is not None else "device"
    where_placement = parse_placement(placement if placement is not None else project.device, where_device)
    core = model if model is not None else make_model(project)
    base_dir = project.path.parent if project.path is not None else Path.cwd()
    data = data if data is not None else load_data(config.dataset, config.val_split, base_dir)
    trained = place(core, where_placement)
    device = where_placement.device if where_placement.kind != "cpu" else torch.device("cpu")
    if wrap is not None:
        trained = wrap(trained)
    loss_fn = build(config.loss, device=device, where="training.loss")
    opt_config = optimizer_config(project)
    optimizer, assignment = build_optimizer(unwrap(trained), opt_config)
    batches = Batches(
        data.x_train, data.y_train, config.batch_size, config.shuffle, config.seed, rank=rank, world_size=world_size
    )
    scheduler_config = parse_scheduler(project.scheduler)
    scheduler = build_scheduler(optimizer, scheduler_config, config.epochs, max(1, len(batches)))
    return Setup(
        config,
        trained,
        unwrap(trained),
        loss_fn,
        optimizer,
        scheduler,
        scheduler_config,
        assignment,
        group_labels(opt_config, assignment),
        data,
        batches,
        device,
        where_placement,
        parse_mode(project.mode),
        rank,
        world_size,
    )
