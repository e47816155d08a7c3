"""A catalog layer as it joins the network: its family icon, its required arguments sized from
the shape it will receive, and where it goes (the palette's double-click and drops on the tree).
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from app.errors import NNStudioError
from app.network.addresses import Address, address_of_path, node_at, path_of_address
from app.network.catalog import layer_type
from app.network.spec import Node
from app.project.network_commands import AddNode

LAYER_MIME = "application/x-nnstudio-layer"  # a catalog type name, dragged from the palette

FAMILY_COLOURS = {
    "containers": "#546e7a",
    "glue": "#8d6e63",
    "linear": "#1e88e5",
    "convolution": "#3949ab",
    "pooling": "#00897b",
    "normalization": "#7cb342",
    "dropout": "#757575",
    "activation": "#f4511e",
    "recurrent": "#8e24aa",
    "embedding": "#6d4c41",
    "attention": "#d81b60",
    "shape": "#fb8c00",
    "loss": "#e53935",
}


@functools.cache
def family_icon(family: str) -> QIcon:
    """A rounded square in the family's colour with its initial (drawn once per family)."""
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(Qt.NoPen)
    painter.setBrush(QColor(FAMILY_COLOURS.get(family, "#607d8b")))
    painter.drawRoundedRect(QRectF(1, 1, 30, 30), 7, 7)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(19)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(QRectF(0, 0, 32, 32), Qt.AlignCenter, family[:1].upper())
    painter.end()
    return QIcon(pixmap)


# --- a fresh layer's required arguments ----------------------------------------------------

_FEATURES_IN = {"in_features", "input_size", "d_model", "embed_dim", "normalized_shape"}
_CHANNELS_IN = {"in_channels", "num_features", "num_channels"}
_FIXED = {
    "out_features": 8,
    "out_channels": 8,
    "hidden_size": 8,
    "embedding_dim": 8,
    "in1_features": 8,
    "in2_features": 8,
    "num_embeddings": 16,
    "num_groups": 1,
    "num_layers": 2,
    "size": 2,
    "upscale_factor": 2,
    "downscale_factor": 2,
    "groups": 1,
    "padding": 1,
    "output_size": 1,
    "dim": 1,
    "value": 0.0,
    "threshold": 0.0,
    "norm_type": 2.0,
}


def _last_dim(incoming) -> int:
    return incoming[-1] if incoming and isinstance(incoming[-1], int) and incoming[-1] > 0 else 8


def _channels(incoming) -> int:
    return incoming[1] if incoming and len(incoming) >= 2 and isinstance(incoming[1], int) and incoming[1] > 0 else 8


def _heads(width: int) -> int:
    return 2 if width % 2 == 0 else 1


def default_node(type_name: str, incoming: list | None = None) -> Node:
    """A node of the type with every required argument filled; ``incoming`` is the shape the
    layer will be given, when known (it sizes in_features, in_channels, num_features...)."""
    entry = layer_type(type_name)
    if entry is None:
        raise NNStudioError(f"unknown layer type {type_name!r} (not in the catalog)", "palette")
    if incoming and not isinstance(incoming[0], int):
        incoming = None  # several outputs (an RNN's): nothing to size from
    args: dict = {}
    for info in entry.args:
        if not info.required:
            continue
        name, forms = info.name, info.type.forms
        if name in _FEATURES_IN:
            args[name] = _last_dim(incoming)
        elif name in _CHANNELS_IN:
            args[name] = _channels(incoming)
        elif name == "kernel_size":
            args[name] = 3 if entry.family == "convolution" else 2
        elif name in ("nhead", "num_heads"):
            width = args.get("d_model", args.get("embed_dim", 8))
            args[name] = _heads(width)
        elif name == "shape":
            args[name] = [-1]
        elif name == "dims":
            args[name] = list(range(len(incoming))) if incoming else [0, 1]
        elif name == "unflattened_size":
            args[name] = [_last_dim(incoming), 1]
        elif name in _FIXED:
            args[name] = _FIXED[name]
        elif ("int",) in forms:
            args[name] = 8
        elif ("float",) in forms:
            args[name] = 1.0
        elif ("bool",) in forms:
            args[name] = False
        else:
            args[name] = [1]
    children: list[Node] = []
    if type_name == "Residual":
        children = [Node("Sequential", {}, [], "body")]
    elif type_name in ("TransformerEncoder", "TransformerDecoder"):
        slot = "encoder_layer" if type_name == "TransformerEncoder" else "decoder_layer"
        layer = default_node(f"{type_name}Layer", incoming)
        layer.name = slot
        children = [layer]
    return Node(type_name, args, children)


# --- where a chosen layer goes --------------------------------------------------------------


def insertion_point(session) -> tuple[Address, int | None]:
    """Into the selected sequence container (appended), else right after the selected node;
    the root's end when nothing (or the root) is selected."""
    network = session.network
    address = address_of_path(network, session.selected) if session.selected else ()
    if not address:
        return (), None
    node = node_at(network, address)
    entry = layer_type(node.type)
    if entry is not None and entry.is_sequence:
        return address, None
    return address[:-1], address[-1] + 1


def incoming_shape(session, parent: Address, index: int | None) -> list | None:
    """The shape a layer put at ``index`` of ``parent`` would receive, when the analysis knows it."""
    analysis = session.analysis
    container = node_at(session.network, parent)
    if analysis is None or container is None:
        return None
    at = len(container.children) if index is None else index
    if at > 0 and (layer_type(container.type) is None or layer_type(container.type).name in ("Sequential", "Chain")):
        row = analysis.row(path_of_address(session.network, (*parent, at - 1)))
        return row.output_shape if row is not None else None
    if not parent:
        inputs = session.project.inputs
        return list(inputs[0].shape) if inputs else None
    row = analysis.row(path_of_address(session.network, parent))
    return row.input_shape if row is not None else None


def add_layer(session, type_name: str) -> bool:
    """Add a default layer of the type where the selection says, then select it."""
    parent, index = insertion_point(session)
    try:
        node = default_node(type_name, incoming_shape(session, parent, index))
        session.execute(AddNode(parent, index, node))
    except NNStudioError as error:
        session.message.emit(str(error))
        return False
    container = node_at(session.network, parent)
    at = len(container.children) - 1 if index is None else index
    session.select(path_of_address(session.network, (*parent, at)))
    return True
