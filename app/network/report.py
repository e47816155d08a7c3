"""Plain-text rendering of an analysis, in the manner of torchinfo's summary."""

from __future__ import annotations

from app.network.analysis import Analysis, LayerRow
from app.network.inputs import InputSpec

HEADERS = ("Layer (type)", "Input shape", "Output shape", "Param #", "Trainable", "Buffers", "FLOPs")


def humanise(count: float | None, unit: str = "") -> str:
    """1834000000 -> '1.8 G': three significant figures at most, decimal prefixes."""
    if count is None:
        return "-"
    for prefix, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(count) >= size:
            value = count / size
            text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
            return f"{text} {prefix}{unit}"
    return f"{count:.0f} {unit}".rstrip()


def format_bytes(count: float | None) -> str:
    return humanise(count, "B") if count is None or count >= 1000 else f"{count:.0f} B"


def format_shape(shape) -> str:
    if shape is None:
        return "-"
    if shape and all(isinstance(s, int) for s in shape):
        return "[" + ", ".join(str(s) for s in shape) + "]"
    return "(" + ", ".join(format_shape(s) for s in shape) + ")"


def _cells(row: LayerRow) -> tuple[str, ...]:
    output = format_shape(row.output_shape) if row.status == "ok" else row.status
    return (
        f"{row.path} ({row.type})",
        format_shape(row.input_shape),
        output,
        f"{row.params:,}",
        f"{row.trainable_params:,}",
        f"{row.buffers:,}",
        humanise(row.flops),
    )


def format_table(analysis: Analysis) -> str:
    rows = [HEADERS, *(_cells(row) for row in analysis.rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]

    def line(cells: tuple[str, ...]) -> str:
        left = [cells[i].ljust(widths[i]) for i in range(3)]
        right = [cells[i].rjust(widths[i]) for i in range(3, len(cells))]
        return "  ".join(left + right).rstrip()

    rule = "=" * len(line(HEADERS))
    body = [line(cells) for cells in rows[1:]]
    return "\n".join([rule, line(HEADERS), rule.replace("=", "-"), *body, rule])


def format_summary(analysis: Analysis, inputs: list[InputSpec] | None, warnings: list[str]) -> str:
    total, trainable = analysis.total_params, analysis.trainable_params
    lines = [
        format_table(analysis),
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        f"Buffers: {analysis.total_buffers:,}",
        f"Params size (MB): {analysis.param_bytes / 1e6:.2f}",
        f"Buffers size (MB): {analysis.buffer_bytes / 1e6:.2f}",
    ]
    if analysis.total_flops is not None:
        lines.append(f"Forward FLOPs: {humanise(analysis.total_flops)} ({analysis.total_flops:,})")
    if inputs:
        lines.append("Input: " + ", ".join(f"{format_shape(i.shape)} {i.dtype}" for i in inputs))
        lines.append(f"Output: {format_shape(analysis.output_shape)}")
    else:
        lines.append("Input: none given (use --input-shape) - shapes not computed")
    if analysis.error is not None:
        lines.append(f"Error: {analysis.error}")
    if warnings:
        lines.append("")
        lines.append("Warnings:")
        lines.extend(f"  - {warning}" for warning in warnings)
    return "\n".join(lines)
