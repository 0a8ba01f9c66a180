"""Generic HTML rendering of an assessment's JSON, shared by the web page and the reports.

Nothing here knows the layout of the risk, imaging or decision sections. A section is
rendered by the function registered for its name (:func:`register_section`) or, by
default, generically: mappings become definition lists, lists of mappings become
tables, and a few *shapes* get a dedicated rendering wherever they occur:

* a probability with an interval (see :mod:`imln.report._adapter`): percentage text
  and a bar;
* a mapping with a pre-test and a post-test probability: a pre→post chart and a
  Fagan nomogram;
* citation keys (under keys such as ``citation`` or ``references``): the formatted
  reference from the evidence base, linked to its DOI/PubMed page.

Labels come from :mod:`imln.report._labels`, then the assessment's JSON Schema
titles, then the field names, so a new field is shown without any change here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from markupsafe import Markup

from imln.evidence import EvidenceBase, load_evidence
from imln.report._adapter import (
    ProbabilityEstimate,
    as_probability,
    shape_keys,
)
from imln.report._charts import (
    fagan_nomogram,
    icon_array,
    imaging_chain_chart,
    pre_post_chart,
    probability_bar,
)
from imln.report._labels import label_for, modality_label, unit_for_key
from imln.report._present import Presentation, format_percentage_points, present

__all__ = [
    "RenderContext",
    "RenderedAssessment",
    "Section",
    "SECTION_RENDERERS",
    "assessment_schema",
    "register_section",
    "render_assessment",
    "render_value",
]

#: Sections shown first, in this order (the most final first).
LEADING_SECTIONS = ("decision", "imaging", "risk")
#: Sections shown last, in this order.
TRAILING_SECTIONS = ("evidence_on_file", "input", "notes")
#: Top-level scalars shown in the provenance table.
PROVENANCE_KEYS = ("imln_version", "evidence_version", "evidence_digest", "schema_version", "created_at")

CITATION_KEYS = frozenset(
    {"citation", "citations", "reference", "references", "source", "sources", "cite", "cites",
     "citation_key", "citation_keys", "evidence", "supporting_citations"}
)
STATUS_KEYS = frozenset({"audit_status", "status"})
_PRE = re.compile(r"pre_?test", re.I)
_POST = re.compile(r"post_?test", re.I)
_LR = re.compile(r"^(lr|lr_point|likelihood_ratio|lr_positive|lr_negative|lr_used)$", re.I)
_URL = re.compile(r"^https?://\S+$")
#: Keys of ratios (likelihood, odds, hazard): a ratio below 1 with an interval is not a probability.
_RATIO_KEY = re.compile(r"(^|_)(lr|hr|or)(_|$)|ratio|odds|hazard|likelihood|multiplier|factor", re.I)
#: Keys not shown: sentence templates with raw ``{placeholders}`` (their filled text is shown).
HIDDEN_KEYS = frozenset({"template"})
_MAX_TABLE_COLUMNS = 12


@cache
def assessment_schema() -> dict[str, Any]:
    """JSON Schema of :class:`imln.Assessment` (serialization mode), computed once."""
    from imln._assessment import Assessment

    return Assessment.model_json_schema(mode="serialization")


@dataclass(eq=False)
class RenderContext:
    """What renderers need besides the data: the evidence (for citations) and the schema."""

    evidence: EvidenceBase
    schema: dict[str, Any]
    section: str | None = None  # top-level section being rendered (labels depend on it)

    def label(self, key: str, schema: dict[str, Any] | None = None) -> str:
        return label_for(key, schema, section=self.section)

    def resolve(self, node: Any) -> dict[str, Any] | None:
        """Follow ``$ref`` and drop ``null`` alternatives of ``anyOf``."""
        for _ in range(10):
            if not isinstance(node, dict):
                return None
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                target = {k: v for k, v in self.schema.get("$defs", {}).get(name, {}).items() if k != "title"}
                # the referenced class's title ("RecommendationClass") is no label for the field
                node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
                continue
            options = node.get("anyOf")
            if options:
                real = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                if len(real) == 1:
                    node = {**real[0], **{k: v for k, v in node.items() if k != "anyOf"}}
                    continue
            return node
        return node if isinstance(node, dict) else None

    def child(self, node: Any, key: str) -> dict[str, Any] | None:
        node = self.resolve(node)
        if not node:
            return None
        return self.resolve(node.get("properties", {}).get(key))

    def item(self, node: Any) -> dict[str, Any] | None:
        node = self.resolve(node)
        if not node:
            return None
        return self.resolve(node.get("items"))

    cited: dict[str, Any] = field(default_factory=dict)  # reference key -> Reference, in citation order

    def reference_of(self, key: str) -> Any:
        """The Reference for a reference key or an evidence record id, else ``None``."""
        ref = self.evidence.references.get(key)
        if ref is None:
            record_citation = self._record_citations().get(key)
            if record_citation is not None:
                ref = self.evidence.references.get(record_citation)
        return ref

    def cite(self, key: str) -> Markup:
        """A citation: the reference's short label linked to the reference list.

        ``key`` is a reference key or an evidence record id (shown beside the label).
        """
        ref = self.reference_of(key)
        if ref is None:
            return Markup('<span class="citation">{}</span>').format(key)
        self.cited.setdefault(ref.key, ref)
        link = Markup('<a class="citation" href="#ref-{}" title="{}">{}</a>').format(ref.key, ref.formatted, ref.label)
        if key != ref.key:
            return link + Markup(' <span class="where">{}</span>').format(key)
        return link

    def _record_citations(self) -> dict[str, str]:
        cached = getattr(self, "_records_cache", None)
        if cached is None:
            cached = {r.id: r.citation for r in self.evidence}
            self._records_cache = cached
        return cached

    def reference_list(self) -> Markup:
        items = []
        for key, ref in self.cited.items():
            text = Markup("{}").format(ref.formatted)
            if ref.url:
                text = Markup('{} <a href="{}">{}</a>').format(text, ref.url, ref.url)
            items.append(Markup('<li id="ref-{}">{}</li>').format(key, text))
        return Markup('<ol class="references">{}</ol>').format(Markup("").join(items))


SectionRenderer = Callable[[str, Any, "dict[str, Any] | None", RenderContext], Markup]
#: Renderers for named top-level sections; any other section is rendered generically.
SECTION_RENDERERS: dict[str, SectionRenderer] = {}


def register_section(name: str) -> Callable[[SectionRenderer], SectionRenderer]:
    """Decorator: render the top-level section ``name`` with this function."""

    def wrap(fn: SectionRenderer) -> SectionRenderer:
        SECTION_RENDERERS[name] = fn
        return fn

    return wrap


# --------------------------------------------------------------------------- scalars


def _format_number(value: float, key: str, schema: dict[str, Any] | None) -> str:
    unit = ""
    if schema and isinstance(schema.get("x-unit"), str):
        unit = schema["x-unit"]
    unit = unit or unit_for_key(key)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = f"{int(value)}"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}" if unit else text


def _is_probability_key(key: str) -> bool:
    k = key.lower()
    return k.endswith(("probability", "_prob", "_risk")) or k in {"pretest", "posttest", "pre_test", "post_test"}


@cache
def _recommendation_labels() -> dict[str, str]:
    """Recommendation class codes and their clinical labels (the details show labels, not codes)."""
    from imln.decision._classes import LABELS

    return {cls.value: label for cls, label in LABELS.items()}


def render_scalar(key: str, value: Any, schema: dict[str, Any] | None, ctx: RenderContext) -> Markup:
    if value is None:
        return Markup('<span class="unknown">unknown</span>')
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return Markup("{}").format(str(value))
        if _is_probability_key(key) and 0 <= value <= 1 and not unit_for_key(key):
            return Markup('<span class="probability">{}</span>').format(f"{value * 100:.1f}%")
        return Markup("{}").format(_format_number(value, key, schema))
    text = str(value)
    if key.lower() in CITATION_KEYS:
        return ctx.cite(text)
    if key.lower() in STATUS_KEYS and text in ("pass", "warn", "fail"):
        return Markup('<span class="badge badge-{0}">{0}</span>').format(text)
    if key == "modality":
        return Markup("{}").format(modality_label(text))
    if text in _recommendation_labels():  # 'imn_radiotherapy' -> 'IMN radiotherapy'
        return Markup("{}").format(_recommendation_labels()[text])
    if _URL.match(text):
        return Markup('<a href="{0}">{0}</a>').format(text)
    return Markup("{}").format(text)


# --------------------------------------------------------------------------- shapes


def render_probability(est: ProbabilityEstimate, label: str = "") -> Markup:
    return Markup('<div class="probability-block"><span class="probability">{}</span>{}</div>').format(
        est.percent_text(), probability_bar(est.point, est.lower, est.upper, label=label)
    )


def _probability_of(value: Any) -> ProbabilityEstimate | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and 0 <= value <= 1:
        return ProbabilityEstimate(float(value))
    est = as_probability(value)
    return est if est is not None and est.point is not None else None


def _interval(key: str, value: Any) -> Markup | None:
    """A two-number list under an interval-like key: ``'8.0–17.0%'`` or ``'0.52–1.9'``."""
    k = key.lower()
    if not (isinstance(value, list) and len(value) == 2 and re.search(r"ci|interval|range|bounds", k)):
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return None
    lo, hi = float(value[0]), float(value[1])
    if ("prob" in k or k.endswith("_risk")) and 0 <= lo <= hi <= 1:
        return Markup('<span class="interval">{}</span>').format(f"{lo * 100:.1f}–{hi * 100:.1f}%")
    return Markup('<span class="interval">{}</span>').format(f"{lo:.3g}–{hi:.3g}")


def _pre_post(mapping: Mapping[str, Any]) -> tuple[ProbabilityEstimate, ProbabilityEstimate, float | None] | None:
    pre = post = None
    lr: float | None = None
    for key, value in mapping.items():
        if pre is None and _PRE.search(key):
            pre = _probability_of(value)
        elif post is None and _POST.search(key):
            post = _probability_of(value)
        elif lr is None and _LR.match(key) and isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            lr = float(value)
    if pre is None or post is None:
        return None
    return pre, post, lr


def render_pre_post(pre: ProbabilityEstimate, post: ProbabilityEstimate, lr: float | None) -> Markup:
    if lr is None and 0 < pre.point < 1 and 0 < post.point < 1:
        lr = (post.point / (1 - post.point)) / (pre.point / (1 - pre.point))
    charts = [
        pre_post_chart(
            pre.point,
            post.point,
            pre_interval=(pre.lower, pre.upper) if pre.has_interval else None,  # type: ignore[arg-type]
            post_interval=(post.lower, post.upper) if post.has_interval else None,  # type: ignore[arg-type]
        )
    ]
    if lr is not None and lr > 0 and 0 < pre.point < 1:
        charts.append(fagan_nomogram(pre.point, lr))
    return Markup('<div class="charts">{}</div>').format(Markup("").join(charts))


def _citation_list(value: Any, ctx: RenderContext) -> Markup | None:
    """Citation keys, evidence record ids, or mappings with a ``key``/``citation``.

    Record ids citing the same reference are grouped under it, in order of first mention.
    """
    items = value if isinstance(value, list) else [value]
    groups: dict[str, list[str]] = {}  # reference key (or unresolved text) -> record ids
    extras: dict[str, str] = {}
    for item in items:
        if isinstance(item, Mapping):
            key = item.get("key") or item.get("citation") or item.get("reference")
            if not isinstance(key, str):
                return None
            extra = ", ".join(
                f"{k} {v}" for k, v in item.items() if k not in ("key", "citation", "reference") and v is not None
            )
            if extra:
                extras[key] = extra
            item = key
        if not isinstance(item, str):
            return None
        ref = ctx.reference_of(item)
        ref_key = ref.key if ref is not None else item
        ids = groups.setdefault(ref_key, [])
        if ref is not None and item != ref.key:
            ids.append(item)
    out: list[Markup] = []
    for key, ids in groups.items():
        m = ctx.cite(key)
        detail = [extras[key]] if key in extras else []
        if ids:
            detail.append(("record " if len(ids) == 1 else "records ") + ", ".join(ids))
        if detail:
            m += Markup(' <span class="where">({})</span>').format("; ".join(detail))
        out.append(m)
    if not out:
        return Markup('<span class="unknown">none</span>')
    if len(out) == 1:
        return out[0]
    return Markup('<ul class="citations">{}</ul>').format(Markup("").join(Markup("<li>{}</li>").format(c) for c in out))


# --------------------------------------------------------------------------- generic


def render_value(key: str, value: Any, schema: dict[str, Any] | None, ctx: RenderContext, depth: int = 0) -> Markup:
    """Render any JSON value; ``key`` is its field name (used for units, labels and shapes)."""
    schema = ctx.resolve(schema)
    if depth > 12:
        return Markup("<code>{}</code>").format(str(value)[:200])
    if key.lower() in CITATION_KEYS and value is not None and not isinstance(value, (bool, int, float)):
        cited = _citation_list(value, ctx)
        if cited is not None:
            return cited
    quantity = _quantity(value)
    if quantity is not None:
        rest = {k: v for k, v in value.items() if k not in _QUANTITY_KEYS}
        return quantity + (_render_mapping(rest, schema, ctx, depth) if rest else Markup(""))
    est = None if _RATIO_KEY.search(key) else as_probability(value)
    if est is None and _RATIO_KEY.search(key):
        ratio = _ratio(value)
        if ratio is not None:
            rest = {k: v for k, v in value.items() if k not in _QUANTITY_KEYS}
            return ratio + (_render_mapping(rest, schema, ctx, depth) if rest else Markup(""))
    if est is not None:
        block = render_probability(est, ctx.label(key, schema))
        rest = {k: v for k, v in value.items() if k not in shape_keys(value)}
        if rest:
            return block + _render_mapping(rest, schema, ctx, depth)
        return block
    interval = _interval(key, value)
    if interval is not None:
        return interval
    if isinstance(value, Mapping):
        return _render_mapping(value, schema, ctx, depth)
    if isinstance(value, list):
        return _render_list(key, value, schema, ctx, depth)
    return render_scalar(key, value, schema, ctx)


_QUANTITY_KEYS = frozenset({"point", "lower", "upper", "level", "unit"})


def _bounds(value: Mapping[str, Any]) -> tuple[float, float | None, float | None, float] | None:
    def num(v: Any) -> float | None:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None

    point = num(value.get("point"))
    if point is None:
        return None
    level = num(value.get("level")) or 0.95
    return point, num(value.get("lower")), num(value.get("upper")), level / 100 if level > 1 else level


def _quantity(value: Any) -> Markup | None:
    """A number with a ``unit`` (not a probability): ``'+0.39 percentage points (95% interval 0.17 to 0.77)'``."""
    if not isinstance(value, Mapping) or not isinstance(value.get("unit"), str):
        return None
    if as_probability(value) is not None:
        return None
    b = _bounds(value)
    if b is None:
        return None
    point, lower, upper, level = b
    unit = value["unit"]
    if "percentage point" in unit:
        text = format_percentage_points(point, lower, upper, level)
        if "absolute" in unit:
            text += " (absolute difference)"
    else:
        text = f"{point:.3g} {unit}"
        if lower is not None and upper is not None:
            text += f" ({level * 100:g}% interval {lower:.3g} to {upper:.3g})"
    return Markup('<p class="quantity">{}</p>').format(text)


def _ratio(value: Any) -> Markup | None:
    """A ratio with its interval: ``'0.103 (95% interval 0.0256 to 0.235)'``, never as a percentage."""
    if not isinstance(value, Mapping):
        return None
    b = _bounds(value)
    if b is None:
        return None
    point, lower, upper, level = b
    text = f"{point:.3g}"
    if lower is not None and upper is not None:
        text += f" ({level * 100:g}% interval {lower:.3g} to {upper:.3g})"
    return Markup('<p class="quantity">{}</p>').format(text)


def _render_mapping(value: Mapping[str, Any], schema: dict[str, Any] | None, ctx: RenderContext, depth: int) -> Markup:
    parts: list[Markup] = []
    pp = _pre_post(value)
    if pp is not None:
        parts.append(render_pre_post(*pp))
    rows: list[Markup] = []
    unknown: list[str] = []
    for k, v in value.items():
        if k in HIDDEN_KEYS:
            continue
        child = ctx.child(schema, k)
        if v is None or v == [] or v == {}:
            unknown.append(ctx.label(k, child))
            continue
        title = (child or {}).get("description")
        rows.append(
            Markup('<dt{}>{}</dt><dd>{}</dd>').format(
                Markup(' title="{}"').format(title) if isinstance(title, str) else "",
                ctx.label(k, child),
                render_value(k, v, child, ctx, depth + 1),
            )
        )
    if rows:
        parts.append(Markup('<dl class="fields">{}</dl>').format(Markup("").join(rows)))
    if unknown:
        parts.append(Markup('<p class="not-given">Unknown or not given: {}.</p>').format(", ".join(unknown)))
    return Markup("").join(parts)


def _render_list(key: str, value: list[Any], schema: dict[str, Any] | None, ctx: RenderContext, depth: int) -> Markup:
    if not value:
        return Markup('<span class="unknown">none</span>')
    item_schema = ctx.item(schema)
    if all(isinstance(v, Mapping) for v in value):
        columns = [c for c in dict.fromkeys(k for v in value for k in v)
                   if c not in HIDDEN_KEYS and any(v.get(c) not in (None, [], {}) for v in value)]
        if len(columns) <= _MAX_TABLE_COLUMNS:
            head = Markup("").join(
                Markup('<th scope="col">{}</th>').format(ctx.label(c, ctx.child(item_schema, c))) for c in columns
            )
            body = Markup("").join(
                Markup("<tr>{}</tr>").format(
                    Markup("").join(
                        Markup("<td>{}</td>").format(render_value(c, v.get(c), ctx.child(item_schema, c), ctx, depth + 1))
                        for c in columns
                    )
                )
                for v in value
            )
            return Markup('<div class="table-wrap"><table><thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>').format(head, body)
        cards = Markup("").join(
            Markup('<div class="card"><h4>#{}</h4>{}</div>').format(i, _render_mapping(v, item_schema, ctx, depth + 1))
            for i, v in enumerate(value, start=1)
        )
        return Markup('<div class="cards">{}</div>').format(cards)
    items = Markup("").join(
        Markup("<li>{}</li>").format(render_value(key, v, item_schema, ctx, depth + 1)) for v in value
    )
    return Markup('<ul class="values">{}</ul>').format(items)


# --------------------------------------------------------------------------- sections


@register_section("notes")
def _notes(name: str, value: Any, schema: dict[str, Any] | None, ctx: RenderContext) -> Markup:
    if not isinstance(value, list):
        return render_value(name, value, schema, ctx)
    return Markup('<ul class="notes">{}</ul>').format(
        Markup("").join(Markup("<li>{}</li>").format(str(n)) for n in value)
    )


@dataclass
class Section:
    """One rendered top-level section."""

    name: str
    title: str
    html: Markup
    description: str | None = None


@dataclass
class RenderedAssessment:
    """Everything a page or report template needs, already rendered."""

    headline: Markup | None
    headline_text: str | None
    recommendation: str | None
    sections: list[Section]
    unavailable: list[str]
    provenance: list[tuple[str, str]]
    data: dict[str, Any] = field(repr=False, default_factory=dict)
    #: The figures the summary shows (the same model the FHIR export uses).
    presentation: Presentation | None = None
    #: Citation links of the summary's panels (reasons, imaging accuracy, next test), by reference key or record id.
    citations: dict[str, Markup] = field(default_factory=dict)
    #: The imaging chain on a log-odds axis (None without steps).
    chain_chart: Markup | None = None
    #: IMN radiotherapy's benefit and harm out of 1,000 women (None when not computed).
    icon_array: Markup | None = None
    #: Every source cited (the summary's first), as a numbered list.
    reference_list: Markup = field(default_factory=lambda: Markup(""))


#: Colours and shapes of the icon array (the legend's swatches in report.css match them).
BENEFIT_ICON = ("circle", "#1e7b34")
HARM_ICON = ("square", "#b00020")


def _summary_citations(presentation: Presentation) -> list[str]:
    """Reference keys or record ids that the summary's panels cite, in the order they appear."""
    keys = [key for r in presentation.recommendation.reasons for key in r.citations]
    nt = presentation.next_tests
    if nt is not None and nt.best is not None and nt.best.accuracy_source:
        keys.append(nt.best.accuracy_source)
    chain = presentation.imaging_chain
    keys += [s.accuracy_record for s in (chain.steps if chain else []) if s.accuracy_record]
    return list(dict.fromkeys(keys))


def _icon_array(presentation: Presentation) -> Markup | None:
    rt = presentation.rt
    if rt is None:
        return None
    benefit = rt.benefit.per_1000 if rt.benefit else None
    harm = rt.harm.per_1000 if rt.harm else None
    if benefit is None and harm is None:
        return None
    return icon_array(1000, [(benefit.count if benefit else 0, *BENEFIT_ICON), (harm.count if harm else 0, *HARM_ICON)])


def _section_order(doc: Mapping[str, Any]) -> list[str]:
    known = set(LEADING_SECTIONS) | set(TRAILING_SECTIONS) | set(PROVENANCE_KEYS)
    middle = [k for k in doc if k not in known and isinstance(doc[k], (dict, list))]
    return [*LEADING_SECTIONS, *middle, *TRAILING_SECTIONS]


def render_assessment(
    doc: Mapping[str, Any] | Any,
    *,
    evidence: EvidenceBase | None = None,
    schema: dict[str, Any] | None = None,
    full: bool = True,
) -> RenderedAssessment:
    """Render an assessment (``Assessment`` or its ``model_dump(mode="json")``) to HTML fragments.

    ``full=False`` skips the field-by-field sections (the PDF shows the summary panels and a compact
    appendix; laying out every computed field took WeasyPrint over a minute and 26 pages).
    """
    if hasattr(doc, "model_dump"):
        doc = doc.model_dump(mode="json")
    ctx = RenderContext(evidence=evidence or load_evidence(), schema=schema or assessment_schema())
    root = ctx.schema
    presentation = present(doc)
    # the summary comes first: its citations open the reference list
    citations = {key: ctx.cite(key) for key in _summary_citations(presentation)}
    sections: list[Section] = []
    unavailable: list[str] = []
    for name in _section_order(doc) if full else ():
        if name not in doc:
            continue
        value = doc[name]
        node = ctx.child(root, name)
        title = label_for(name, node, section="assessment")
        ctx.section = name
        if value is None or value == [] or value == {}:
            if name in LEADING_SECTIONS or name not in TRAILING_SECTIONS:
                unavailable.append(title)
            continue
        renderer = SECTION_RENDERERS.get(name)
        html = renderer(name, value, node, ctx) if renderer else render_value(name, value, node, ctx)
        description = (node or {}).get("description")
        sections.append(Section(name, title, html, description if isinstance(description, str) else None))
    if ctx.cited:
        sections.append(
            Section("references", "References", ctx.reference_list(),
                    "Every source cited above, with a link to its DOI or PubMed record.")
        )
    provenance = [
        (label_for(k), str(doc[k])) for k in PROVENANCE_KEYS if doc.get(k) is not None
    ] + [
        (label_for(k), str(v)) for k, v in doc.items()
        if k not in PROVENANCE_KEYS and not isinstance(v, (dict, list)) and v is not None
        and k not in LEADING_SECTIONS
    ]
    prob = presentation.headline.probability
    headline = None
    if prob is not None:
        headline = Markup('<span class="probability">{}</span>').format(prob.text)
    chain = presentation.imaging_chain
    chain_chart = None
    if chain is not None and chain.steps:
        chain_chart = imaging_chain_chart([(s.label + (f", LR {s.likelihood_ratio:.2g}" if s.likelihood_ratio else ""),
                                            s.point, s.lower, s.upper) for s in chain.steps], chain.thresholds)
    return RenderedAssessment(
        headline=headline,
        headline_text=prob.text if prob is not None else None,
        recommendation=presentation.recommendation.text,
        sections=sections,
        unavailable=unavailable,
        provenance=provenance,
        data=dict(doc),
        presentation=presentation,
        citations=citations,
        chain_chart=chain_chart,
        icon_array=_icon_array(presentation),
        reference_list=ctx.reference_list(),
    )
