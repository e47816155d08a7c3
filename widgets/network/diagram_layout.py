"""Where everything in the block diagram goes: plain Python data, no Qt.

:func:`layout` turns a network spec (and, when there is one, its analysis) into boxes,
container frames and edges in scene coordinates, top to bottom. The view only draws what it
is given, so the geometry is testable without a window. Text widths come from a ``measure``
callable (the view passes its font metrics); the default is a rough per-character estimate.

Every piece is laid out as a fragment with a vertical axis ``cx``: the incoming edge arrives
at ``(cx, entry_y)`` and the outgoing one leaves from ``(cx, exit_y)``, so the children of a
sequence line up on one axis and every edge between them is a straight vertical line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app.network.catalog import layer_type
from app.network.report import humanise
from app.network.spec import Node

Measure = Callable[[str, bool], float]  # (text, bold) -> width in scene units

SEQUENCES = frozenset({"Sequential", "Chain", "ModuleList"})
PILLS = frozenset({"TakeOutput", "Reshape", "Permute"})
DASH = "—"

BOX_MIN_W = 150.0
BOX_H = 60.0
PILL_H = 40.0
JOIN_D = 30.0
PAD_X = 10.0  # text inset in a box
PILL_PAD_X = 16.0  # text inset in a pill (round ends)
V_GAP = 28.0  # between consecutive pieces (room for an arrow)
H_GAP = 30.0  # between parallel branches
FRAME_PAD = 12.0
FRAME_HEADER = 20.0
SKIP_GAP = 28.0  # from a residual body to its skip line
FORK_GAP = 18.0  # from a fork point to what it feeds
LABEL_INSET = 10.0  # a frame's label from the frame's side
LABEL_CLEAR = 8.0  # a frame's label from the edge that crosses its header


@dataclass
class Box:
    """A drawn node. ``kind``: layer, pill, join, io (input / output), empty (placeholder)."""

    path: str | None
    kind: str
    title: str
    name: str = ""
    shape: str = ""
    params: str = ""
    family: str = ""
    status: str = ""
    message: str = ""
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass
class Frame:
    """A translucent frame around a container's children, labelled with its name and type."""

    path: str
    label: str
    type: str
    x: float
    y: float
    w: float
    h: float
    status: str = ""
    message: str = ""
    label_x: float = 10.0  # where the label starts, from the frame's left; clear of the axis


@dataclass
class Edge:
    """A polyline; ``kind`` flow (layer to layer), skip (a residual's shortcut) or branch."""

    points: list[tuple[float, float]]
    kind: str = "flow"
    arrow: bool = True


@dataclass
class Layout:
    boxes: list[Box] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    dots: list[tuple[float, float]] = field(default_factory=list)  # fork points
    width: float = 0.0
    height: float = 0.0

    def box(self, path: str) -> Box | None:
        return next((b for b in self.boxes if b.path == path), None)

    def frame(self, path: str) -> Frame | None:
        return next((f for f in self.frames if f.path == path), None)


@dataclass
class _Fragment:
    w: float
    h: float
    cx: float
    entry_y: float
    exit_y: float
    entry_arrow: bool = True  # False when the incoming edge ends at a fork point
    boxes: list[Box] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    dots: list[tuple[float, float]] = field(default_factory=list)

    def take(self, other: _Fragment, dx: float, dy: float) -> None:
        """Move ``other`` by (dx, dy) and adopt its items."""
        for box in other.boxes:
            box.x += dx
            box.y += dy
        for frame in other.frames:
            frame.x += dx
            frame.y += dy
        for edge in other.edges:
            edge.points = [(x + dx, y + dy) for x, y in edge.points]
        self.dots += [(x + dx, y + dy) for x, y in other.dots]
        self.boxes += other.boxes
        self.frames += other.frames
        self.edges += other.edges


def rough_measure(text: str, bold: bool) -> float:
    return len(text) * (7.6 if bold else 6.6)


def shape_text(shape) -> str:
    """``[8, 6, 28, 28]``; a tuple output as ``([8, 20, 64], [1, 8, 64])``; unknown as a dash."""
    if shape is None:
        return DASH
    if shape and all(isinstance(s, (list, tuple)) for s in shape):
        return "(" + ", ".join(shape_text(s) for s in shape) + ")"
    return "[" + ", ".join(str(s) for s in shape) + "]"


def params_text(count: int | None) -> str:
    if count is None:
        return DASH
    return f"{count:,} param" + ("" if count == 1 else "s")


def cost_text(params: int | None, flops: int | None) -> str:
    """``2,416 params · 3.8 M FLOPs``; the FLOPs only where the forward counted some."""
    text = params_text(params)
    return f"{text} · {humanise(flops)} FLOPs" if flops else text


def local_name(name: str, positional: bool) -> str:
    return f"({name})" if positional else name


class _Builder:
    def __init__(self, rows: dict, measure: Measure) -> None:
        self.rows = rows
        self.measure = measure
        self.box_w = BOX_MIN_W

    # leaves --------------------------------------------------------------------------------
    def _leaf_box(self, path: str, node: Node, label: str) -> Box:
        row = self.rows.get(path)
        entry = layer_type(node.type)
        return Box(
            path,
            "pill" if node.type in PILLS else "layer",
            node.type,
            label,
            shape_text(row.output_shape) if row is not None else DASH,
            cost_text(row.params, row.flops) if row is not None else DASH,
            entry.family if entry is not None else "",
            row.status if row is not None else "",
            row.message if row is not None else "",
        )

    def text_width(self, box: Box) -> float:
        m = self.measure
        if box.kind == "pill":
            return max(m(box.title, True) + 12 + m(box.name, False), m(box.shape, False)) + 2 * PILL_PAD_X + 4
        first = m(box.title, True) + 12 + m(box.name, False)
        return max(first, m(box.shape, False), m(box.params, False)) + 2 * PAD_X + 4

    def box_fragment(self, box: Box) -> _Fragment:
        if box.kind == "pill":
            box.w, box.h = max(100.0, self.text_width(box)), PILL_H
        elif box.kind in ("io", "empty"):
            box.w = max(90.0, self.measure(box.title, True) + 12 + self.measure(box.shape, False) + 2 * PILL_PAD_X + 4)
            box.h = 30.0
        else:
            box.w, box.h = self.box_w, BOX_H
        return _Fragment(box.w, box.h, box.w / 2, 0.0, box.h, boxes=[box])

    # the tree ------------------------------------------------------------------------------
    def node(self, path: str, node: Node, label: str, framed: bool = True) -> _Fragment:
        if node.type in SEQUENCES:
            inner = self.sequence(path, node)
        elif node.type == "Residual":
            inner = self.residual(path, node)
        elif node.type == "Parallel":
            inner = self.parallel(path, node)
        else:
            return self.box_fragment(self._leaf_box(path, node, label))
        return self.framed(inner, path, node, label) if framed else inner

    def children(self, path: str, node: Node) -> Iterable[tuple[str, Node, str]]:
        for name, child in zip(node.child_names(), node.children):
            yield f"{path}.{name}" if path else name, child, local_name(name, child.name is None)

    def framed(self, inner: _Fragment, path: str, node: Node, label: str) -> _Fragment:
        text = f"{label} · {node.type}" if label else node.type
        # The incoming edge crosses the header on the axis: the label goes wholly left or
        # wholly right of it, whichever widens the frame less.
        label_w = self.measure(text, True)
        dx, dy = FRAME_PAD, FRAME_HEADER + FRAME_PAD
        w = inner.w + 2 * FRAME_PAD
        axis = inner.cx + dx
        grow_left = max(0.0, LABEL_INSET + label_w + LABEL_CLEAR - axis)
        grow_right = max(0.0, axis + LABEL_CLEAR + label_w + LABEL_INSET - w)
        if grow_left <= grow_right:
            dx, w, label_x = dx + grow_left, w + grow_left, LABEL_INSET
        else:
            w, label_x = w + grow_right, axis + LABEL_CLEAR
        h = FRAME_HEADER + inner.h + 2 * FRAME_PAD
        row = self.rows.get(path)
        frame = Frame(
            path, text, node.type, 0.0, 0.0, w, h, row.status if row else "", row.message if row else "", label_x
        )
        out = _Fragment(w, h, inner.cx + dx, inner.entry_y + dy, inner.exit_y + dy, inner.entry_arrow, frames=[frame])
        out.take(inner, dx, dy)
        return out

    def empty(self) -> _Fragment:
        return self.box_fragment(Box(None, "empty", "empty"))

    def stack(self, parts: list[_Fragment]) -> _Fragment:
        if not parts:
            return self.empty()
        left = max(p.cx for p in parts)
        right = max(p.w - p.cx for p in parts)
        out = _Fragment(left + right, 0.0, left, 0.0, 0.0)
        y, previous = 0.0, None
        for part in parts:
            if previous is not None:
                y += V_GAP
                out.edges.append(Edge([(left, previous), (left, y + part.entry_y)], "flow", part.entry_arrow))
            else:
                out.entry_y, out.entry_arrow = part.entry_y, part.entry_arrow
            out.take(part, left - part.cx, y)
            previous = y + part.exit_y
            y += part.h
        out.h, out.exit_y = y, previous
        return out

    def sequence(self, path: str, node: Node) -> _Fragment:
        return self.stack([self.node(p, child, label) for p, child, label in self.children(path, node)])

    def residual(self, path: str, node: Node) -> _Fragment:
        slots = {label: (p, child) for p, child, label in self.children(path, node)}
        body = self.node(*slots["body"], "body") if "body" in slots else self.empty()
        projection = self.node(*slots["projection"], "projection") if "projection" in slots else None
        top = FORK_GAP
        r = JOIN_D / 2
        join_y = top + max(body.h, projection.h if projection is not None else 0.0) + V_GAP
        join_cy = join_y + r
        out = _Fragment(0.0, join_y + JOIN_D, body.cx, top + body.entry_y, join_y + JOIN_D, body.entry_arrow)
        out.dots.append((body.cx, 0.0))
        skip_x = body.w + SKIP_GAP  # the skip runs down the right of the body, clear of it
        fork = [(body.cx, 0.0), (skip_x, 0.0)]
        into_join = [(body.cx + r, join_cy)]
        if projection is None:
            out.w = skip_x + 4
            out.edges.append(Edge([*fork, (skip_x, join_cy), *into_join], "skip"))
        else:
            px, py = skip_x, top + max(0.0, (body.h - projection.h) / 2)
            skip_x = px + projection.cx
            fork[1] = (skip_x, 0.0)
            out.w = px + projection.w
            out.edges.append(Edge([*fork, (skip_x, py + projection.entry_y)], "skip", projection.entry_arrow))
            out.edges.append(Edge([(skip_x, py + projection.exit_y), (skip_x, join_cy), *into_join], "skip"))
            out.take(projection, px, py)
        out.edges.append(Edge([(body.cx, top + body.exit_y), (body.cx, join_y)], "flow"))
        out.take(body, 0.0, top)
        out.boxes.append(self._join(path, "+", body.cx - r, join_y))
        return out

    def _join(self, path: str, title: str, x: float, y: float) -> Box:
        """The node where a block's paths meet; it carries the block's own status (a sum of
        mismatched shapes fails there)."""
        row = self.rows.get(path)
        status, message = (row.status, row.message) if row is not None and row.status == "failed" else ("", "")
        return Box(path or None, "join", title, status=status, message=message, x=x, y=y, w=JOIN_D, h=JOIN_D)

    def parallel(self, path: str, node: Node) -> _Fragment:
        branches = [self.node(p, child, label) for p, child, label in self.children(path, node)]
        if not branches:
            return self.empty()
        top = FORK_GAP
        w = sum(b.w for b in branches) + H_GAP * (len(branches) - 1)
        cx = w / 2
        r = JOIN_D / 2
        join_y = top + max(b.h for b in branches) + V_GAP
        jc = join_y + r
        out = _Fragment(w, join_y + JOIN_D, cx, 0.0, join_y + JOIN_D, entry_arrow=False)
        out.dots.append((cx, 0.0))
        x = 0.0
        for branch in branches:
            bx = x + branch.cx
            out.edges.append(Edge([(cx, 0.0), (bx, 0.0), (bx, top + branch.entry_y)], "branch", branch.entry_arrow))
            exit_y = top + branch.exit_y
            if abs(bx - cx) < 1:
                points = [(bx, exit_y), (cx, join_y)]
            elif abs(bx - cx) < r + 4:
                bend = join_y - V_GAP / 2
                points = [(bx, exit_y), (bx, bend), (cx, bend), (cx, join_y)]
            else:
                side = r if bx > cx else -r
                points = [(bx, exit_y), (bx, jc), (cx + side, jc)]
            out.edges.append(Edge(points, "branch"))
            out.take(branch, x, top)
            x += branch.w + H_GAP
        join = "+" if node.args.get("join", "cat") == "sum" else "cat"
        out.boxes.append(self._join(path, join, cx - r, join_y))
        return out


def layout(network: Node, analysis=None, inputs=(), measure: Measure = rough_measure) -> Layout:
    """The whole diagram: an input pill, the network (the root without a frame), an output pill."""
    rows = {row.path: row for row in analysis.rows} if analysis is not None else {}
    builder = _Builder(rows, measure)
    widths = [
        builder.text_width(builder._leaf_box(path, node, local_name(path.rsplit(".", 1)[-1], node.name is None)))
        for path, node in network.walk()
        if node.type not in SEQUENCES | PILLS | {"Residual", "Parallel"}
    ]
    builder.box_w = max([BOX_MIN_W, *widths])
    input_text = ", ".join(shape_text(list(i.shape)) for i in inputs) or DASH
    output_text = shape_text(analysis.output_shape) if analysis is not None and analysis.error is None else DASH
    parts = [
        builder.box_fragment(Box(None, "io", "input", shape=input_text)),
        builder.node("", network, "", framed=False),
        builder.box_fragment(Box(None, "io", "output", shape=output_text)),
    ]
    whole = builder.stack(parts)
    margin = 20.0
    placed = _Fragment(0.0, 0.0, 0.0, 0.0, 0.0)
    placed.take(whole, margin, margin)
    return Layout(placed.boxes, placed.frames, placed.edges, placed.dots, whole.w + 2 * margin, whole.h + 2 * margin)
