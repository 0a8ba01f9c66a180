"""Small inline SVG charts: probability with interval, pre→post test, Fagan nomogram.

Inline SVG needs no script or external file, prints sharply, and renders the same in
the browser and in WeasyPrint. Each chart has ``role="img"`` and a text label.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

__all__ = ["fagan_nomogram", "icon_array", "imaging_chain_chart", "pre_post_chart", "probability_bar"]


def _pct(p: float) -> str:
    return f"{p * 100:.1f}%"


def probability_bar(point: float | None, lower: float | None = None, upper: float | None = None, *, label: str = "") -> Markup:
    """A 0–100 % scale with the interval as a band and the point as a marker."""
    w, h, pad = 300, 34, 16
    span = w - 2 * pad

    def x(p: float) -> float:
        return pad + span * min(max(p, 0.0), 1.0)

    parts = [f'<line x1="{pad}" y1="14" x2="{w - pad}" y2="14" class="axis" stroke="#5a6270" stroke-width="1"/>']
    for t in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{x(t):.1f}" y1="10" x2="{x(t):.1f}" y2="18" class="tick" stroke="#5a6270" stroke-width="1"/>')
        parts.append(f'<text x="{x(t):.1f}" y="31" text-anchor="middle" class="ticklabel" font-size="8" fill="#1b1f24">{t * 100:.0f}%</text>')
    if lower is not None and upper is not None:
        parts.append(
            f'<rect x="{x(lower):.1f}" y="8" width="{max(x(upper) - x(lower), 1.5):.1f}" height="12" class="band" fill="#9cc3ea"/>'
        )
    if point is not None:
        parts.append(f'<circle cx="{x(point):.1f}" cy="14" r="5" class="point" fill="#0b5cad" stroke="#ffffff" stroke-width="1.5"/>')
        text = f"{label + ': ' if label else ''}{_pct(point)}"
        if lower is not None and upper is not None:
            text += f", interval {_pct(lower)} to {_pct(upper)}"
    else:
        text = f"{label + ': ' if label else ''}between {_pct(lower or 0)} and {_pct(upper or 0)}"
    return Markup(
        f'<svg class="chart probability-bar" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(text)}">'
        f"<title>{escape(text)}</title>{''.join(parts)}</svg>"
    )


def pre_post_chart(
    pretest: float,
    posttest: float,
    *,
    pre_interval: tuple[float, float] | None = None,
    post_interval: tuple[float, float] | None = None,
) -> Markup:
    """Two rows on a shared 0–100 % scale: before and after the test, joined by an arrow."""
    w, h, pad, left = 360, 78, 14, 64
    span = w - left - pad

    def x(p: float) -> float:
        return left + span * min(max(p, 0.0), 1.0)

    parts: list[str] = []
    for t in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{x(t):.1f}" y1="6" x2="{x(t):.1f}" y2="56" class="grid" stroke="#d0d5dc" stroke-width="1"/>')
        parts.append(f'<text x="{x(t):.1f}" y="72" text-anchor="middle" class="ticklabel" font-size="8" fill="#1b1f24">{t * 100:.0f}%</text>')
    for y, name, p, iv in ((18, "pre-test", pretest, pre_interval), (44, "post-test", posttest, post_interval)):
        parts.append(f'<text x="4" y="{y + 4}" class="rowlabel" font-size="10" fill="#1b1f24">{name}</text>')
        if iv is not None:
            parts.append(f'<rect x="{x(iv[0]):.1f}" y="{y - 5}" width="{max(x(iv[1]) - x(iv[0]), 1.5):.1f}" height="10" class="band" fill="#9cc3ea"/>')
        parts.append(f'<circle cx="{x(p):.1f}" cy="{y}" r="5" class="point" fill="#0b5cad" stroke="#ffffff" stroke-width="1.5"/>')
    parts.append(f'<line x1="{x(pretest):.1f}" y1="24" x2="{x(posttest):.1f}" y2="38" class="arrow" stroke="#0b5cad" stroke-width="2"/>')
    text = f"pre-test {_pct(pretest)} to post-test {_pct(posttest)}"
    return Markup(
        f'<svg class="chart pre-post" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(text)}">'
        f"<title>{escape(text)}</title>{''.join(parts)}</svg>"
    )


_PROB_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
_LR_TICKS = (0.001, 0.01, 0.1, 1, 10, 100, 1000)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def fagan_nomogram(pretest: float, likelihood_ratio: float) -> Markup:
    """Fagan's nomogram: pre-test probability, likelihood ratio, post-test probability.

    On the log-odds scale ``logit(post) = logit(pre) + ln(LR)``; with the pre-test axis
    running down, the post-test axis running up and the LR axis midway at half scale,
    the three values lie on one straight line.
    """
    w, h = 300, 330
    top, bottom = 16, h - 16
    mid = (top + bottom) / 2
    s = (bottom - top) / (2 * _logit(0.999))
    xl, xm, xr = 60, 150, 240

    def y_left(p: float) -> float:
        return mid + s * _logit(p)

    def y_right(p: float) -> float:
        return mid - s * _logit(p)

    def y_mid(lr: float) -> float:
        return mid - s / 2 * math.log(max(lr, 1e-6))

    post = 1 / (1 + math.exp(-(_logit(pretest) + math.log(max(likelihood_ratio, 1e-9)))))
    parts = [
        f'<line x1="{xl}" y1="{top}" x2="{xl}" y2="{bottom}" class="axis" stroke="#5a6270" stroke-width="1"/>',
        f'<line x1="{xm}" y1="{y_mid(1000):.1f}" x2="{xm}" y2="{y_mid(0.001):.1f}" class="axis" stroke="#5a6270" stroke-width="1"/>',
        f'<line x1="{xr}" y1="{top}" x2="{xr}" y2="{bottom}" class="axis" stroke="#5a6270" stroke-width="1"/>',
    ]
    for p in _PROB_TICKS:
        label = f"{p * 100:g}"
        parts.append(f'<line x1="{xl - 4}" y1="{y_left(p):.1f}" x2="{xl}" y2="{y_left(p):.1f}" class="tick" stroke="#5a6270" stroke-width="1"/>')
        parts.append(f'<text x="{xl - 6}" y="{y_left(p) + 3:.1f}" text-anchor="end" class="ticklabel" font-size="8" fill="#1b1f24">{label}</text>')
        parts.append(f'<line x1="{xr}" y1="{y_right(p):.1f}" x2="{xr + 4}" y2="{y_right(p):.1f}" class="tick" stroke="#5a6270" stroke-width="1"/>')
        parts.append(f'<text x="{xr + 6}" y="{y_right(p) + 3:.1f}" class="ticklabel" font-size="8" fill="#1b1f24">{label}</text>')
    for lr in _LR_TICKS:
        parts.append(f'<line x1="{xm - 3}" y1="{y_mid(lr):.1f}" x2="{xm + 3}" y2="{y_mid(lr):.1f}" class="tick" stroke="#5a6270" stroke-width="1"/>')
        parts.append(f'<text x="{xm + 6}" y="{y_mid(lr) + 3:.1f}" class="ticklabel" font-size="8" fill="#1b1f24">{lr:g}</text>')
    parts.append(
        f'<line x1="{xl}" y1="{y_left(pretest):.1f}" x2="{xr}" y2="{y_right(post):.1f}" class="fagan-line" stroke="#0b5cad" stroke-width="2"/>'
    )
    parts.append(f'<text x="{xl}" y="10" text-anchor="middle" class="axislabel" font-size="9" font-weight="bold" fill="#1b1f24">pre-test %</text>')
    parts.append(f'<text x="{xm}" y="10" text-anchor="middle" class="axislabel" font-size="9" font-weight="bold" fill="#1b1f24">LR</text>')
    parts.append(f'<text x="{xr}" y="10" text-anchor="middle" class="axislabel" font-size="9" font-weight="bold" fill="#1b1f24">post-test %</text>')
    text = f"Fagan nomogram: pre-test {_pct(pretest)}, likelihood ratio {likelihood_ratio:.3g}, post-test {_pct(post)}"
    return Markup(
        f'<svg class="chart fagan" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(text)}">'
        f"<title>{escape(text)}</title>{''.join(parts)}</svg>"
    )


# --------------------------------------------------------------------------- imaging chain (log-odds axis)

#: Probability ticks of the imaging chain's log-odds axis (few enough to be read on a phone).
CHAIN_TICKS = (0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
_INK, _MUTED, _ACCENT, _BAND, _GRID = "#1b1f24", "#5a6270", "#0b5cad", "#9cc3ea", "#d0d5dc"


def _tick_text(p: float) -> str:
    return f"{p * 100:g}%"


def imaging_chain_chart(steps: list[tuple[str, float, float | None, float | None]],
                        thresholds: list[tuple[str, float]] = ()) -> Markup:  # type: ignore[assignment]
    """The probability of IMLN metastasis at each step (pre-test, then each finding) on a log-odds axis.

    ``steps`` are ``(label, point, lower, upper)``; ``thresholds`` ``(label, probability)`` are
    drawn as dashed lines. On the log-odds scale a likelihood ratio moves the point by the same
    distance wherever it starts, and 1% is as far from 0.1% as 50% is from 10%: low risks do not
    collapse onto the left edge as on a linear 0–100% axis. Each point's value is written beside it.
    """
    w, left, right = 360, 15, 15
    lo, hi = _logit(CHAIN_TICKS[0]), _logit(CHAIN_TICKS[-1])
    row = 52
    top = 2
    axis_y = top + row * len(steps) + 2
    h = axis_y + 36

    def x(p: float) -> float:
        v = min(max(_logit(p), lo), hi)
        return left + (w - left - right) * (v - lo) / (hi - lo)

    parts: list[str] = []
    for i in range(len(steps)):  # grid and threshold lines only beside the bars, never through a label
        y1, y2 = top + row * i + 22, top + row * (i + 1) + 2
        for t in CHAIN_TICKS:
            parts.append(f'<line x1="{x(t):.1f}" y1="{y1}" x2="{x(t):.1f}" y2="{y2}" stroke="{_GRID}" stroke-width="1"/>')
        for name, value in thresholds:
            parts.append(f'<line x1="{x(value):.1f}" y1="{y1}" x2="{x(value):.1f}" y2="{y2}" stroke="{_INK}" '
                         f'stroke-width="1.3" stroke-dasharray="5 3"><title>{escape(name)} {_pct(value)}</title></line>')
    for t in CHAIN_TICKS:
        parts.append(f'<line x1="{x(t):.1f}" y1="{axis_y}" x2="{x(t):.1f}" y2="{axis_y + 5}" stroke="{_MUTED}" stroke-width="1"/>')
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y + 18}" text-anchor="middle" font-size="12.5" fill="{_INK}">{_tick_text(t)}</text>')
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{w - right}" y2="{axis_y}" stroke="{_MUTED}" stroke-width="1"/>')
    parts.append(f'<text x="{w / 2:.0f}" y="{axis_y + 33}" text-anchor="middle" font-size="12.5" fill="{_MUTED}">'
                 'probability of IMLN metastasis, log-odds scale</text>')
    described = []
    previous: float | None = None
    for i, (label, point, lower, upper) in enumerate(steps):
        y0 = top + row * i
        yb = y0 + 37
        value = _pct(point) + (f" ({_pct(lower)}–{_pct(upper)})" if lower is not None and upper is not None else "")
        right_end = x(upper) if upper is not None else x(point)
        left_end = x(lower) if lower is not None else x(point)
        width = 0.62 * 13 * len(value)  # DejaVu Sans: about 0.6 em a character
        if right_end + 10 + width <= w or right_end + 10 + width - w < width - (left_end - 10):
            anchor, tx = "start", min(right_end + 10, w - width)
        else:
            anchor, tx = "end", max(left_end - 10, width)
        bx = tx if anchor == "start" else tx - width
        parts.append(f'<rect x="{bx - 2:.1f}" y="{yb - 9}" width="{width + 4:.1f}" height="18" fill="#ffffff" fill-opacity="0.9"/>')
        parts.append(f'<text x="{tx:.1f}" y="{yb + 5}" text-anchor="{anchor}" font-size="13" fill="{_INK}">{value}</text>')
        if lower is not None and upper is not None:
            parts.append(f'<rect x="{x(lower):.1f}" y="{yb - 6}" width="{max(x(upper) - x(lower), 2):.1f}" height="12" '
                         f'rx="2" fill="{_BAND}"/>')
        if previous is not None:
            parts.append(f'<line x1="{x(previous):.1f}" y1="{yb - row + 6}" x2="{x(point):.1f}" y2="{yb - 6}" '
                         f'stroke="{_ACCENT}" stroke-width="1.5"/>')
        parts.append(f'<circle cx="{x(point):.1f}" cy="{yb}" r="6" fill="{_ACCENT}" stroke="#ffffff" stroke-width="1.5"/>')
        # the label last, on white: the line from the step before passes behind it, not through it
        label_width = 0.66 * 14 * len(label)
        parts.append(f'<rect x="{left - 12}" y="{y0 + 2}" width="{label_width + 4:.1f}" height="17" fill="#ffffff"/>')
        parts.append(f'<text x="{left - 10}" y="{y0 + 15}" font-size="14" font-weight="bold" fill="{_INK}">{escape(label)}</text>')
        described.append(f"{label}: {value}")
        previous = point
    text = "Imaging chain, log-odds axis. " + "; ".join(described)
    if thresholds:
        text += ". Thresholds: " + "; ".join(f"{n} {_pct(v)}" for n, v in thresholds)
    return Markup(
        f'<svg class="chart chain" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{escape(text)}">'
        f"<title>{escape(text)}</title>{''.join(parts)}</svg>"
    )


# --------------------------------------------------------------------------- icon array

ICON_COLUMNS = 40


def icon_array(denominator: int, groups: list[tuple[int, str, str]]) -> Markup:
    """``denominator`` people as icons; ``groups`` ``(count, shape, colour)`` are drawn in order.

    The first group fills from the top left, the last from the bottom right, so two groups stay
    apart; a group's ``shape`` is ``'circle'`` or ``'square'`` (distinguishable without colour).
    Every other icon is a small grey dot. The caller writes the text equivalent next to it.
    """
    cols = ICON_COLUMNS
    rows = math.ceil(denominator / cols)
    cell = 10
    w, h = cols * cell, rows * cell
    kinds: list[tuple[str, str] | None] = [None] * denominator
    for g, (count, shape, colour) in enumerate(groups):
        count = max(0, min(count, denominator))
        if g == len(groups) - 1 and g > 0:
            free = [i for i in range(denominator - 1, -1, -1) if kinds[i] is None][:count]
        else:
            free = [i for i in range(denominator) if kinds[i] is None][:count]
        for i in free:
            kinds[i] = (shape, colour)
    # one path per kind of icon (not one element per icon): a PDF renderer lays out 3 shapes, not 1,000
    paths: dict[tuple[str, str] | None, list[str]] = {}
    for i, kind in enumerate(kinds):
        cx, cy = (i % cols) * cell + cell / 2, (i // cols) * cell + cell / 2
        if kind is None:
            r = 2.2
        elif kind[0] == "square":
            paths.setdefault(kind, []).append(f"M{cx - 4:g} {cy - 4:g}h8v8h-8z")
            continue
        else:
            r = 4.3
        paths.setdefault(kind, []).append(f"M{cx - r:g} {cy:g}a{r:g} {r:g} 0 1 0 {2 * r:g} 0a{r:g} {r:g} 0 1 0 {-2 * r:g} 0z")
    parts = [f'<path fill="{"#aab2bd" if kind is None else kind[1]}" d="{"".join(d)}"/>' for kind, d in paths.items()]
    return Markup(
        f'<svg class="chart icon-array" viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-hidden="true" focusable="false">'
        f"{''.join(parts)}</svg>"
    )
