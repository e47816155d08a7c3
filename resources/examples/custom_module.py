"""A network written in Python, as the seed note teaches it: a custom nn.Module with its own
nn.Parameter and a buffer, used inside a small CNN whose forward adds a residual by hand.

nnstudio's project custom_module.nnproj names ``custom_module.py:SmallCNN``; everything the window
and the command line do (summary, parameter tree, internals, groups, init, probes, training,
export) works on it as on a network built from the palette.
"""

import torch
from torch import nn


class ScaledChannels(nn.Module):
    """y = x * scale + shift per channel, with a running mean of its input kept as a buffer.

    ``scale`` and ``shift`` are nn.Parameters, so model.parameters() sees them and the optimizer
    trains them; ``running_mean`` is a buffer (register_buffer): saved in state_dict, not trained.
    """

    def __init__(self, channels: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.shift = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.momentum = momentum

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                mean = x.mean(dim=(0, 2, 3))
                self.running_mean.mul_(1 - self.momentum).add_(mean, alpha=self.momentum)
        return x * self.scale[:, None, None] + self.shift[:, None, None]


class SmallCNN(nn.Module):
    """Two convolution stages with a hand-written residual add, then a linear classifier."""

    def __init__(self, classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), ScaledChannels(width), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), ScaledChannels(width))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(x + self.block(x))  # the residual: functional, in forward, not a module
        return self.classifier(torch.flatten(self.pool(x), 1))
