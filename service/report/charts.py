"""Charts as inline SVG, drawn here: a report is one file that opens with no network and no script.

Each chart is an `<svg role="img">` with a title and a description, and the report puts
the table of its numbers beside it, so nothing is only in the picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH = 720
ROW = 26
LABEL = 260  # the left column of labels
PAD = 12

Format = Callable[[float], str]


def frame(title: str, description: str, height: int, body: str, css_class: str) -> str:
    """A figure: its caption shown, the SVG titled and described for screen readers."""
    return (f'<figure><figcaption>{escape(title)}</figcaption><svg class="chart {css_class}" role="img" '
            f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(title)}</title><desc>{escape(description)}</desc>{body}</svg></figure>")


def bars(title: str, rows: Sequence[tuple[str, float]], shown: Format) -> str:
    """Horizontal bars from 0, one per row (values at least 0)."""
    height = PAD * 2 + ROW * max(1, len(rows))
    top = max((value for _, value in rows), default=0.0) or 1.0
    span = WIDTH - LABEL - PAD - 90
    parts = []
    for index, (label, value) in enumerate(rows):
        y = PAD + index * ROW
        length = max(0.0, value) / top * span
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + 17}" text-anchor="end" class="label">{escape(label)}</text>'
            f'<rect class="bar" x="{LABEL}" y="{y + 5}" width="{length:.1f}" height="{ROW - 10}"/>'
            f'<text x="{LABEL + length + 6:.1f}" y="{y + 17}" class="value">{escape(shown(value))}</text>')
    description = "; ".join(f"{label}: {shown(value)}" for label, value in rows) or "nothing to show"
    return frame(title, description, height, "".join(parts), "bars")


def intervals(title: str, rows: Sequence[tuple[str, float, float | None, float | None]], shown: Format) -> str:
    """Differences as points with their interval as whiskers, around a line at 0 (a forest plot)."""
    height = PAD * 2 + ROW * max(1, len(rows)) + 18
    ends = [0.0, *(value for _, difference, low, high in rows for value in (difference, low, high) if value is not None)]
    least, most = min(ends), max(ends)
    if least == most:
        least, most = least - 1, most + 1
    span = WIDTH - LABEL - PAD * 3

    def x(value: float) -> float:
        return LABEL + PAD + (value - least) / (most - least) * span

    zero = x(0.0)
    parts = [f'<line class="zero" x1="{zero:.1f}" x2="{zero:.1f}" y1="{PAD}" y2="{height - 18}"/>']
    ticks = [least, most] + ([0.0] if min(zero - x(least), x(most) - zero) > 60 else [])  # 0 unless it is crowded
    for tick in ticks:  # the scale's ends, and 0
        anchor = "start" if tick == least else "end" if tick == most else "middle"
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 4}" text-anchor="{anchor}" class="value">'
                     f"{escape(shown(tick))}</text>")
    for index, (label, difference, low, high) in enumerate(rows):
        y = PAD + index * ROW + ROW / 2
        parts.append(f'<text x="{LABEL - 8}" y="{y + 5}" text-anchor="end" class="label">{escape(label)}</text>')
        readable = low is not None and high is not None
        if low is not None and high is not None:
            parts.append(f'<line class="whisker" x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{y}" y2="{y}"/>')
        parts.append(f'<circle class="point{"" if readable else " small"}" cx="{x(difference):.1f}" cy="{y}" r="5"/>')
        words = shown(difference) + ("" if readable else " (too small to read)")
        right = x(high if high is not None else difference)
        anchor, at = ("end", x(low if low is not None else difference) - 8) if right > WIDTH - 150 else ("start", right + 8)
        parts.append(f'<text x="{at:.1f}" y="{y + 4}" text-anchor="{anchor}" class="value">{escape(words)}</text>')
    description = "; ".join(
        f"{label}: {shown(difference)}" + (f" (95% interval {shown(low)} to {shown(high)})"
                                           if low is not None and high is not None else " (too small to read)")
        for label, difference, low, high in rows) or "nothing to show"
    return frame(title, description, height, "".join(parts), "intervals")
