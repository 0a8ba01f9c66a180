"""Small inline SVG charts: probability with interval, pre→post test, Fagan nomogram.

Inline SVG needs no script or external file, prints sharply, and renders the same in
the browser and in WeasyPrint. Each chart has ``role="img"`` and a text label.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

__all__ = ["fagan_nomogram", "pre_post_chart", "probability_bar"]


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
