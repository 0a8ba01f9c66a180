"""The clinician form, generated from the patient JSON Schema, and its conversion back.

Fields come from ``imln.schema.patient_json_schema()``: type, range, step, allowed
values, unit and help text. Only the *grouping* is written here (:data:`GROUPS`), in
clinical order; a field the schema gains later and no group names appears under
"Other" without any change. Imaging is one fieldset per modality: a modality whose
fields are all left empty is not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from imln.report._labels import LABELS, label_for, modality_label
from imln.schema import Problem, patient_json_schema

__all__ = ["FormField", "FormGroup", "form_groups", "form_to_patient", "problem_field_name"]

#: Form groups in clinical order: (id, title, dotted field paths). Findings are added per modality.
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("patient", "Patient", ("age_years", "sex", "setting", "bmi_kg_per_m2", "patient_id")),
    (
        "tumour",
        "Tumour",
        (
            "laterality",
            "tumor_location.quadrant",
            "tumor_location.clock_position",
            "tumor_size_mm",
            "histology",
            "grade",
            "er_status",
            "pr_status",
            "her2_status",
            "ki67_percent",
            "lvi",
            "multifocal",
            "nipple_inversion",
            "mammographic_calcification",
        ),
    ),
    (
        "axilla",
        "Axilla and treatment",
        (
            "clinical_n_stage",
            "pathological_n_stage",
            "positive_axillary_nodes",
            "examined_axillary_nodes",
            "im_node_tissue.method",
            "im_node_tissue.result",
            "im_node_tissue.date",
            "neoadjuvant_chemotherapy",
            "implant_reconstruction",
            "prior_imn_radiotherapy",
        ),
    ),
    ("cardiac", "Cardiac context (for the radiotherapy balance)", ("cardiac.*",)),
)
FINDINGS = "findings"


@dataclass
class FormField:
    """One input of the form."""

    name: str  # dotted path, also the HTML name: "tumor_location.quadrant", "findings.us.result"
    label: str
    kind: str  # number | integer | select | boolean | date | text
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    step: str | None = None
    unit: str = ""
    allowed: str = ""
    help: str = ""
    pattern: str | None = None
    max_length: int | None = None

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "--")


@dataclass
class FormGroup:
    id: str
    title: str
    fields: list[FormField]
    help: str = ""


def _resolve(node: Any, defs: Mapping[str, Any]) -> dict[str, Any]:
    for _ in range(10):
        if not isinstance(node, dict):
            return {}
        if "$ref" in node:
            node = {**defs.get(node["$ref"].rsplit("/", 1)[-1], {}), **{k: v for k, v in node.items() if k != "$ref"}}
            continue
        if "anyOf" in node:
            real = [o for o in node["anyOf"] if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(real) == 1:
                node = {**real[0], **{k: v for k, v in node.items() if k != "anyOf"}}
                continue
        return node
    return node


def _first_sentence(text: str) -> str:
    text = text.split(" Allowed:")[0].split(" One of:")[0].split(" true/false")[0]
    return text.strip()


def _field(name: str, key: str, node: dict[str, Any], required: bool, enum_labels: Any = None) -> FormField:
    description = node.get("description", "") or ""
    unit = node.get("x-unit", "") or ""
    f = FormField(
        name=name,
        label=label_for(name if name in LABELS else key),
        kind="text",
        required=required,
        unit=unit,
        allowed=node.get("x-allowed", "") or "",
        help=_first_sentence(description),
    )
    if "enum" in node:
        f.allowed = ""  # the options are the allowed values
        f.kind = "select"
        f.options = [(str(v), enum_labels(str(v)) if enum_labels else str(v).replace("_", " ")) for v in node["enum"]]
    elif node.get("type") == "boolean":
        f.allowed = ""
        f.kind = "boolean"
        f.options = [("true", "yes"), ("false", "no")]
    elif node.get("type") in ("number", "integer"):
        f.kind = node["type"]
        if "minimum" in node:
            f.minimum = node["minimum"]
        if "exclusiveMinimum" in node:
            f.minimum, f.exclusive_minimum = node["exclusiveMinimum"], True
        if "maximum" in node:
            f.maximum = node["maximum"]
        step = node.get("multipleOf")
        f.step = f"{step:g}" if step else ("1" if node["type"] == "integer" else "any")
    elif node.get("format") == "date":
        f.kind = "date"
        f.help = f.help.split(" null = unknown")[0]
    else:
        f.pattern = node.get("pattern")
        f.max_length = node.get("maxLength")
    return f


def _modality_fields() -> dict[str, frozenset[str]] | None:
    """Fields that apply only to some modalities, if the schema module exposes them."""
    try:
        from imln.schema._patient import MODALITY_ONLY_FIELDS
    except ImportError:  # pragma: no cover - schema module reorganised
        return None
    return {k: frozenset(m.value for m in v) for k, v in MODALITY_ONLY_FIELDS.items()}


@cache
def form_groups() -> tuple[FormGroup, ...]:
    """The form's groups and fields, from the patient JSON Schema."""
    schema = patient_json_schema()
    defs = schema.get("$defs", {})
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    placed: set[str] = set()
    groups: list[FormGroup] = []

    def top_field(path: str) -> list[FormField]:
        if path.endswith(".*"):
            parent = path[:-2]
            node = _resolve(props.get(parent), defs)
            placed.add(parent)
            sub_req = set(node.get("required", []))
            return [
                _field(f"{parent}.{k}", k, _resolve(v, defs), k in sub_req)
                for k, v in node.get("properties", {}).items()
            ]
        if "." in path:
            parent, child = path.split(".", 1)
            node = _resolve(props.get(parent), defs)
            sub = node.get("properties", {}).get(child)
            if sub is None:
                return []
            placed.add(parent)
            return [_field(path, child, _resolve(sub, defs), False)]
        if path not in props:
            return []
        placed.add(path)
        return [_field(path, path, _resolve(props[path], defs), path in required)]

    for gid, title, paths in GROUPS:
        fields = [f for p in paths for f in top_field(p)]
        if fields:
            groups.append(FormGroup(gid, title, fields))

    # imaging: one fieldset per modality
    findings = _resolve(props.get(FINDINGS), defs)
    item = _resolve(findings.get("items"), defs)
    if item:
        placed.add(FINDINGS)
        modality_node = _resolve(item.get("properties", {}).get("modality"), defs)
        only = _modality_fields() or {}
        for modality in modality_node.get("enum", []):
            fields = []
            for k, v in item.get("properties", {}).items():
                if k == "modality" or (k in only and modality not in only[k]):
                    continue
                fields.append(_field(f"{FINDINGS}.{modality}.{k}", k, _resolve(v, defs), False))
            groups.append(
                FormGroup(
                    f"imaging-{modality}",
                    f"Imaging: {modality_label(modality)}",
                    fields,
                    help="Leave empty if not done.",
                )
            )

    rest = [k for k in props if k not in placed]
    other: list[FormField] = []
    for k in rest:
        node = _resolve(props[k], defs)
        if node.get("type") == "object" or "properties" in node:
            other.extend(
                _field(f"{k}.{sub}", sub, _resolve(v, defs), False) for sub, v in node.get("properties", {}).items()
            )
        elif node.get("type") != "array":
            other.append(_field(k, k, node, k in required))
    if other:
        groups.append(FormGroup("other", "Other", other))
    # move imaging groups after "axilla" and before "cardiac" (clinical order)
    order = {"patient": 0, "tumour": 1, "axilla": 2, "cardiac": 4, "other": 5}
    groups.sort(key=lambda g: order.get(g.id, 3))
    return tuple(groups)


@cache
def _fields_by_name() -> dict[str, FormField]:
    return {f.name: f for g in form_groups() for f in g.fields}


def _convert(f: FormField | None, raw: str) -> Any:
    """Form text to JSON: numbers parsed when they parse (else left as text for the validator)."""
    text = raw.strip()
    if f is None:
        return text
    if f.kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if f.kind in ("number", "integer"):
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return text
        return int(number) if f.kind == "integer" and number.is_integer() else number
    return text


def form_to_patient(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[int, str]]:
    """Form fields to the patient mapping; also ``{finding index: modality}`` for error paths.

    Empty fields mean unknown and are left out; a modality is sent only when one of its
    fields is filled.
    """
    fields = _fields_by_name()
    data: dict[str, Any] = {}
    findings: dict[str, dict[str, Any]] = {}
    for name, raw in form.items():
        if not isinstance(raw, str) or not raw.strip() or name in ("token", "csrf"):
            continue
        parts = name.split(".")
        value = _convert(fields.get(name), raw)
        if parts[0] == FINDINGS and len(parts) == 3:
            findings.setdefault(parts[1], {})[parts[2]] = value
        elif len(parts) == 2:
            data.setdefault(parts[0], {})[parts[1]] = value
        elif len(parts) == 1:
            data[name] = value
    index: dict[int, str] = {}
    if findings:
        data[FINDINGS] = []
        for i, (modality, values) in enumerate(findings.items()):
            data[FINDINGS].append({"modality": modality, **values})
            index[i] = modality
    return data, index


def problem_field_name(problem: Problem | Mapping[str, Any], findings_index: Mapping[int, str]) -> str:
    """The form field a problem's path refers to (``findings[0].suv_max`` → ``findings.pet_ct.suv_max``)."""
    path = problem["field"] if isinstance(problem, Mapping) else problem.field
    if path.startswith(f"{FINDINGS}["):
        i_text, _, rest = path[len(FINDINGS) + 1 :].partition("]")
        try:
            modality = findings_index[int(i_text)]
        except (ValueError, KeyError):
            return path
        rest = rest.lstrip(".")
        return f"{FINDINGS}.{modality}.{rest}" if rest else f"{FINDINGS}.{modality}.result"
    return path
