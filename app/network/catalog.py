"""Which layer types a network may use: an allow-list over torch.nn plus the glue blocks.

Everything about a type (its arguments, their types and defaults, its one-line doc) is read
from the real class, so the catalog follows the installed torch.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass

from torch import nn

from app.network import blocks
from app.network.argtypes import EMPTY, ArgType, arg_type_from_annotation

FAMILIES: dict[str, tuple[str, ...]] = {
    "containers": ("Sequential", "ModuleList"),
    "glue": ("Residual", "Parallel", "Chain", "TakeOutput", "Reshape", "Permute"),
    "linear": ("Linear", "Bilinear", "Identity"),
    "convolution": (
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "ConvTranspose3d",
    ),
    "pooling": (
        "MaxPool1d",
        "MaxPool2d",
        "MaxPool3d",
        "AvgPool1d",
        "AvgPool2d",
        "AvgPool3d",
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
        "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d",
        "AdaptiveMaxPool3d",
        "LPPool1d",
        "LPPool2d",
    ),
    "normalization": (
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "LayerNorm",
        "GroupNorm",
        "RMSNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "LocalResponseNorm",
    ),
    "dropout": ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"),
    "activation": (
        "ReLU",
        "ReLU6",
        "LeakyReLU",
        "PReLU",
        "RReLU",
        "ELU",
        "SELU",
        "CELU",
        "GELU",
        "SiLU",
        "Mish",
        "Sigmoid",
        "Tanh",
        "Softplus",
        "Softsign",
        "Hardtanh",
        "Hardswish",
        "Hardsigmoid",
        "LogSigmoid",
        "Softmax",
        "LogSoftmax",
        "Softmin",
        "Tanhshrink",
        "Softshrink",
        "Hardshrink",
        "Threshold",
        "GLU",
    ),
    "recurrent": ("RNN", "GRU", "LSTM"),
    "embedding": ("Embedding", "EmbeddingBag"),
    "attention": (
        "MultiheadAttention",
        "TransformerEncoderLayer",
        "TransformerDecoderLayer",
        "TransformerEncoder",
        "TransformerDecoder",
    ),
    "shape": (
        "Flatten",
        "Unflatten",
        "Upsample",
        "PixelShuffle",
        "PixelUnshuffle",
        "ChannelShuffle",
        "ZeroPad1d",
        "ZeroPad2d",
        "ConstantPad1d",
        "ConstantPad2d",
        "ReflectionPad1d",
        "ReflectionPad2d",
        "ReplicationPad1d",
        "ReplicationPad2d",
    ),
    "loss": (
        "MSELoss",
        "L1Loss",
        "SmoothL1Loss",
        "HuberLoss",
        "CrossEntropyLoss",
        "NLLLoss",
        "BCELoss",
        "BCEWithLogitsLoss",
        "KLDivLoss",
        "CosineEmbeddingLoss",
        "MarginRankingLoss",
    ),
}

# Children listed in order (positional or named with add_module), as opposed to fixed slots.
SEQUENCE_CONTAINERS = frozenset({"Sequential", "ModuleList", "Parallel", "Chain"})

# Arguments that exist in the signature but are not the user's to set from a file.
HIDDEN_ARGS = frozenset(
    {"self", "device", "dtype", "size_average", "reduce", "_weight", "_freeze", "min_value", "max_value"}
)

# RNN, GRU and LSTM take *args; their real arguments are RNNBase's, less `mode`.
RNN_EXTRA = {"RNN": {"nonlinearity": ("str", "tanh")}}


@dataclass(frozen=True)
class ArgInfo:
    name: str
    type: ArgType
    default: object  # EMPTY when the argument is required
    annotation: str

    @property
    def required(self) -> bool:
        return self.default is EMPTY


@dataclass(frozen=True)
class SlotInfo:
    """A constructor argument that takes a module (Residual's body, TransformerEncoder's layer)."""

    name: str
    required: bool


@dataclass(frozen=True)
class LayerType:
    name: str
    family: str
    cls: type[nn.Module]
    doc: str
    args: tuple[ArgInfo, ...]
    slots: tuple[SlotInfo, ...]

    @property
    def is_sequence(self) -> bool:
        return self.name in SEQUENCE_CONTAINERS

    @property
    def takes_children(self) -> bool:
        return self.is_sequence or bool(self.slots)

    def arg(self, name: str) -> ArgInfo | None:
        return next((a for a in self.args if a.name == name), None)

    def slot(self, name: str) -> SlotInfo | None:
        return next((s for s in self.slots if s.name == name), None)


def _class_for(name: str) -> type[nn.Module]:
    return blocks.GLUE_BLOCKS.get(name) or getattr(nn, name)


def _first_doc_line(cls: type) -> str:
    paragraphs = (inspect.getdoc(cls) or "").strip().split("\n\n")
    # RNN, GRU and LSTM open with their call signature: skip it.
    text = next((p for p in paragraphs if not p.startswith("__init__")), "")
    sentence = " ".join(text.split()).split(". ")[0].rstrip(".")
    return sentence + "." if sentence else ""


def _parameters(cls: type[object]) -> list[inspect.Parameter]:
    is_rnn = cls in (nn.RNN, nn.GRU, nn.LSTM)
    init = nn.modules.rnn.RNNBase.__init__ if is_rnn else cls.__init__
    try:
        signature = inspect.signature(init, eval_str=True)
    except Exception:  # an annotation torch cannot evaluate: fall back to the raw ones
        signature = inspect.signature(init)
    return [p for p in signature.parameters.values() if p.name not in HIDDEN_ARGS and not (is_rnn and p.name == "mode")]


def _is_module_annotation(annotation) -> bool:
    parts = getattr(annotation, "__args__", None) or (annotation,)
    return any(isinstance(p, type) and issubclass(p, nn.Module) for p in parts)


def _read_layer(name: str, family: str) -> LayerType:
    cls = _class_for(name)
    args: list[ArgInfo] = []
    slots: list[SlotInfo] = []
    for param in _parameters(cls):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = EMPTY if param.default is param.empty else param.default
        annotation = EMPTY if param.annotation is param.empty else param.annotation
        if annotation is not EMPTY and _is_module_annotation(annotation):
            slots.append(SlotInfo(param.name, required=default is EMPTY))
            continue
        arg_type = arg_type_from_annotation(annotation, default, name, param.name)
        if arg_type is None:
            continue  # a tensor or callable argument: left at its default
        if name != "LSTM" and param.name == "proj_size":
            continue  # only LSTM has projections
        if callable(default):
            default = default.__name__  # Transformer layers default to F.relu: "relu" in a file
        args.append(ArgInfo(param.name, arg_type, default, _annotation_text(param.annotation)))
    for extra, (kind, default) in RNN_EXTRA.get(name, {}).items():
        arg_type = arg_type_from_annotation(str, default, name, extra)
        assert arg_type is not None  # a str argument always has a JSON form
        args.append(ArgInfo(extra, arg_type, default, kind))
    return LayerType(name, family, cls, _first_doc_line(cls), tuple(args), tuple(slots))


def _annotation_text(annotation) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


@functools.cache
def catalog() -> dict[str, LayerType]:
    """Every allowed layer type by name, in family order."""
    return {name: _read_layer(name, family) for family, names in FAMILIES.items() for name in names}


def layer_type(name: str) -> LayerType | None:
    return catalog().get(name) if isinstance(name, str) else None


def type_name_of(module: nn.Module) -> str | None:
    """The catalog name of a module's exact class, or None when it is not in the catalog."""
    name = type(module).__name__
    entry = catalog().get(name)
    return name if entry is not None and entry.cls is type(module) else None
