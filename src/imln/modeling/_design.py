"""Model terms, a small formula language, and the design matrix (as rms builds it).

A model is written as ``"rcs(age, 4) + meno + cat(size, ref='<=20') + log1p(pgr)"``:

========================  ==============================================================
``x``                     linear in column ``x`` (categorical if ``x`` holds text/bool)
``log(x)``, ``log1p(x)``,  linear in a transformed column
``sqrt(x)``
``rcs(x, k)``             restricted cubic spline with ``k`` knots (3–7) at Harrell's
                          default quantiles (``Hmisc::rcspline.eval``); ``rcs(log1p(x), 4)``
                          splines a transformed column; ``rcs(x, knots=[20, 40, 60])``
                          uses given knots
``cat(x)``                categorical, treatment coding; the reference level is the
                          first in sorted order unless ``ref='level'`` is given
========================  ==============================================================

Spline columns are ``Hmisc::rcspline.eval(x, nk, inclx=TRUE, norm=2)``, so the
coefficients are those ``rms::lrm`` prints (``age``, ``age'``, ``age''``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Transform = Literal["log", "log1p", "sqrt"]
_TRANSFORMS: dict[str, Any] = {"log": np.log, "log1p": np.log1p, "sqrt": np.sqrt}
_TRANSFORM_DOMAIN = {"log": "> 0", "log1p": "> -1", "sqrt": ">= 0"}
_SPLINE_KNOTS_ALLOWED = range(3, 8)


class ModelingInputError(ValueError):
    """Bad cohort data or model specification; the message names the column and what is allowed."""


# --------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Linear:
    """A predictor entering linearly, optionally transformed."""

    column: str
    transform: Transform | None = None

    @property
    def label(self) -> str:
        return f"{self.transform}({self.column})" if self.transform else self.column


@dataclass(frozen=True)
class Spline:
    """A restricted cubic spline (rms ``rcs``) with ``n_knots`` or explicit ``knots``."""

    column: str
    n_knots: int = 4
    knots: tuple[float, ...] | None = None
    transform: Transform | None = None

    @property
    def label(self) -> str:
        return f"{self.transform}({self.column})" if self.transform else self.column


@dataclass(frozen=True)
class Categorical:
    """A categorical predictor with treatment (dummy) coding against ``reference``."""

    column: str
    reference: str | None = None
    levels: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        return self.column


Term = Linear | Spline | Categorical


# --------------------------------------------------------------------------- formula parser

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>[()+,=\[\]]))"
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ModelingInputError(
                f"cannot read the model formula at {text[pos:pos + 15]!r} (formula: {text!r}); "
                "allowed: terms like x, log1p(x), rcs(x, 4), cat(x, ref='a') joined by '+'"
            )
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = value[1:-1]
        tokens.append((kind, value))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, value: str | None = None, kind: str | None = None) -> str:
        tok = self._peek()
        if tok is None or (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            want = repr(value) if value else kind
            got = repr(tok[1]) if tok else "end of formula"
            raise ModelingInputError(f"model formula {self.text!r}: expected {want}, got {got}")
        self.i += 1
        return tok[1]

    def parse(self) -> list[Term]:
        terms = [self._term()]
        while self._peek() is not None:
            self._take("+")
            terms.append(self._term())
        return terms

    def _column(self) -> tuple[str, Transform | None]:
        name = self._take(kind="name")
        if name in _TRANSFORMS and self._peek() == ("op", "("):
            self._take("(")
            column = self._take(kind="name")
            self._take(")")
            return column, name  # type: ignore[return-value]
        return name, None

    def _term(self) -> Term:
        tok = self._peek()
        if tok is None or tok[0] != "name":
            got = tok[1] if tok else "nothing"
            raise ModelingInputError(f"model formula {self.text!r}: expected a term, got {got!r}")
        name = tok[1]
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        if nxt != ("op", "("):
            self.i += 1
            return Linear(name)
        if name in _TRANSFORMS:
            column, transform = self._column()
            return Linear(column, transform)
        if name == "rcs":
            self._take("rcs")
            self._take("(")
            column, transform = self._column()
            n_knots, knots = 4, None
            if self._peek() == ("op", ","):
                self._take(",")
                if self._peek() == ("name", "knots"):
                    self._take("knots")
                    self._take("=")
                    self._take("[")
                    values = [float(self._take(kind="num"))]
                    while self._peek() == ("op", ","):
                        self._take(",")
                        values.append(float(self._take(kind="num")))
                    self._take("]")
                    knots = tuple(values)
                    n_knots = len(values)
                else:
                    n_knots = int(float(self._take(kind="num")))
            self._take(")")
            if n_knots not in _SPLINE_KNOTS_ALLOWED:
                raise ModelingInputError(f"rcs({column}, {n_knots}): number of knots must be 3 to 7 (got {n_knots})")
            return Spline(column, n_knots=n_knots, knots=knots, transform=transform)
        if name == "cat":
            self._take("cat")
            self._take("(")
            column = self._take(kind="name")
            reference = None
            if self._peek() == ("op", ","):
                self._take(",")
                self._take("ref")
                self._take("=")
                tok = self._peek()
                if tok is None or tok[0] not in ("str", "name", "num"):
                    raise ModelingInputError(f"model formula {self.text!r}: cat({column}, ref=...) needs a level")
                self.i += 1
                reference = tok[1]
            self._take(")")
            return Categorical(column, reference=reference)
        raise ModelingInputError(
            f"model formula {self.text!r}: unknown function {name!r}; allowed: rcs, cat, log, log1p, sqrt"
        )


def parse_formula(formula: str | Sequence[Term]) -> list[Term]:
    """Terms of a formula string such as ``"rcs(age,4) + cat(size) + log1p(pgr)"``."""
    if not isinstance(formula, str):
        return list(formula)
    if not formula.strip():
        raise ModelingInputError("model formula is empty; give at least one predictor, e.g. 'rcs(age, 4) + grade'")
    terms = _Parser(formula).parse()
    seen: set[str] = set()
    for t in terms:
        key = f"{type(t).__name__}:{t.label}"
        if key in seen:
            raise ModelingInputError(f"model formula {formula!r}: term {t.label!r} appears twice")
        seen.add(key)
    return terms


# --------------------------------------------------------------------------- knots and basis


def rcs_default_knots(x: np.ndarray, n_knots: int, fractied: float = 0.05) -> np.ndarray:
    """Knot locations exactly as ``Hmisc::rcspline.eval(x, nk=n_knots)`` chooses them.

    Quantiles ``seq(outer, 1 - outer, length = nk)`` with outer = .10 (3 knots), .05 (4–6)
    or .025 (7); heavily tied extremes become their own knot (``fractied``); with fewer
    than 100 values the outer knots move to the 5th smallest and 5th largest values.
    """
    xx = np.asarray(x, dtype=float)
    xx = xx[~np.isnan(xx)]
    n = xx.size
    if n < 6:
        raise ModelingInputError(f"need at least 6 values to place spline knots (got {n})")
    xu = np.unique(xx)
    nxu = xu.size
    if nxu - 2 <= n_knots:
        knots = xu[1:-1]
    else:
        outer = 0.05 if n_knots > 3 else 0.1
        if n_knots > 6:
            outer = 0.025
        nke = n_knots
        firstknot: list[float] = []
        lastknot: list[float] = []
        override_first = override_last = False
        if 0 < fractied < 1:
            values, counts = np.unique(xx, return_counts=True)
            f = counts / n
            if f[1:-1].max() < fractied:
                if f[0] >= fractied:
                    firstknot = [float(xx[xx > xx.min()].min())]
                    xx = xx[xx > firstknot[0]]
                    nke -= 1
                    override_first = True
                if f[-1] >= fractied:
                    lastknot = [float(xx[xx < xx.max()].max())]
                    xx = xx[xx < lastknot[0]]
                    nke -= 1
                    override_last = True
        if nke == 1:
            knots = np.array([np.median(xx)])
        else:
            if nxu <= nke:
                knots = xu
            else:
                p = np.linspace(0.5, 1 - outer, nke) if nke == 2 else np.linspace(outer, 1 - outer, nke)
                knots = np.quantile(xx, p)
                if np.unique(knots).size < min(nke, 3):
                    knots = np.quantile(xx, np.linspace(outer, 1 - outer, 2 * nke))
                    if firstknot and np.unique(knots).size < 3:
                        midval = (firstknot[0] + lastknot[0]) / 2 if lastknot else float(np.median(xx))
                        tail = lastknot[0] if lastknot else float(np.quantile(xx, 1 - outer))
                        knots = np.sort(np.array([firstknot[0], midval, tail]))
            knots = np.array(knots, dtype=float)
            if xx.size < 100:
                xs = np.sort(xx)
                if not override_first:
                    knots[0] = xs[4]
                if not override_last:
                    knots[nke - 1] = xs[-5]
        knots = np.concatenate([firstknot, knots, lastknot])
    knots = np.unique(knots)
    if knots.size < 3:
        raise ModelingInputError(f"fewer than 3 distinct spline knots can be placed (values: {np.unique(x)[:10]})")
    return knots


def rcs_basis(x: np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """``Hmisc::rcspline.eval(x, knots, inclx=TRUE, norm=2)``: x and its k-2 nonlinear terms."""
    x = np.asarray(x, dtype=float)
    k = np.asarray(knots, dtype=float)
    nk = k.size
    kd = (k[-1] - k[0]) ** (2 / 3)
    out = np.empty((x.size, nk - 1))
    out[:, 0] = x
    last, prev = k[-1], k[-2]
    for j in range(nk - 2):
        out[:, j + 1] = np.maximum((x - k[j]) / kd, 0) ** 3 + (
            (prev - k[j]) * np.maximum((x - last) / kd, 0) ** 3
            - (last - k[j]) * np.maximum((x - prev) / kd, 0) ** 3
        ) / (last - prev)
    return out


# --------------------------------------------------------------------------- fitted design


@dataclass(frozen=True)
class FittedTerm:
    """A term with everything learned from the development data (knots, levels)."""

    term: Term
    column_names: tuple[str, ...]
    knots: tuple[float, ...] | None = None
    levels: tuple[str, ...] | None = None  # first = reference
    value_range: tuple[float, float] | None = None  # raw (untransformed) observed range
    distinct_values: tuple[float, ...] | None = None  # raw values, kept when fewer than 10 (as datadist)

    @property
    def kind(self) -> str:
        return {Linear: "linear", Spline: "rcs", Categorical: "category"}[type(self.term)]

    @property
    def column(self) -> str:
        return self.term.column

    def values(self, data: pd.DataFrame) -> np.ndarray:
        """Numeric (transformed) values of a continuous term; level strings of a categorical one."""
        raw = data[self.column]
        if isinstance(self.term, Categorical):
            return _as_level_strings(raw)
        values = _as_numeric(raw, self.column)
        transform = getattr(self.term, "transform", None)
        if transform:
            with np.errstate(all="ignore"):
                out = _TRANSFORMS[transform](values)
            bad = ~np.isfinite(out) & np.isfinite(values)
            if bad.any():
                raise ModelingInputError(
                    f"{transform}({self.column}) is undefined for {int(bad.sum())} row(s) "
                    f"(e.g. {self.column}={values[bad][0]:g}); allowed: {self.column} {_TRANSFORM_DOMAIN[transform]}"
                )
            return out
        return values

    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """The design-matrix columns of this term."""
        v = self.values(data)
        if isinstance(self.term, Categorical):
            assert self.levels is not None
            unknown = sorted(set(v) - set(self.levels))
            if unknown:
                raise ModelingInputError(
                    f"column {self.column!r} has level(s) {unknown} not seen when the model was fitted; "
                    f"allowed: {list(self.levels)}"
                )
            return np.column_stack([(v == lev).astype(float) for lev in self.levels[1:]])
        if isinstance(self.term, Spline):
            assert self.knots is not None
            return rcs_basis(v, self.knots)
        return v.reshape(-1, 1)

    def encode_values(self, values: Sequence[Any]) -> np.ndarray:
        """Design columns for raw values of this term's column (used by nomograms)."""
        return self.encode(pd.DataFrame({self.column: list(values)}))


@dataclass(frozen=True)
class Design:
    """The fitted terms; ``matrix(data)`` builds the design matrix (without intercept)."""

    terms: tuple[FittedTerm, ...]

    @property
    def column_names(self) -> list[str]:
        return [c for t in self.terms for c in t.column_names]

    @property
    def columns_used(self) -> list[str]:
        out: list[str] = []
        for t in self.terms:
            if t.column not in out:
                out.append(t.column)
        return out

    def term_slices(self) -> list[slice]:
        out, start = [], 0
        for t in self.terms:
            out.append(slice(start, start + len(t.column_names)))
            start += len(t.column_names)
        return out

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        _require_columns(data, self.columns_used)
        return np.column_stack([t.encode(data) for t in self.terms])


def _require_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ModelingInputError(
            f"column(s) {missing} not in the data; available columns: {list(map(str, data.columns))}"
        )


def _is_categorical_series(s: pd.Series) -> bool:
    return bool(
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(s.dtype)
        or pd.api.types.is_object_dtype(s.dtype)
        or pd.api.types.is_string_dtype(s.dtype)
    )


def _as_numeric(s: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float).to_numpy()
    out = pd.to_numeric(s, errors="coerce")
    bad = out.isna() & s.notna()
    if bad.any():
        examples = list(dict.fromkeys(map(str, s[bad].tolist())))[:3]
        raise ModelingInputError(
            f"column {column!r} must be numeric; found non-numeric value(s) {examples}. "
            f"Use cat({column}) for a categorical predictor"
        )
    return out.to_numpy(dtype=float)


def _level_string(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _as_level_strings(s: pd.Series) -> np.ndarray:
    return np.array([_level_string(v) for v in s.tolist()], dtype=object)


def _sorted_levels(values: np.ndarray, raw: pd.Series) -> list[str]:
    if isinstance(raw.dtype, pd.CategoricalDtype):
        present = set(values.tolist())
        return [_level_string(c) for c in raw.cat.categories if _level_string(c) in present]
    uniq = sorted(set(values.tolist()))
    try:  # numeric codes sort numerically
        return sorted(uniq, key=float)
    except ValueError:
        return uniq


def learn_design(terms: Sequence[Term], data: pd.DataFrame) -> Design:
    """Learn knots and levels from (complete-case) development data."""
    fitted: list[FittedTerm] = []
    n = len(data)
    for term in terms:
        raw = data[term.column]
        if isinstance(term, Linear) and term.transform is None and _is_categorical_series(raw):
            term = Categorical(term.column)
        if isinstance(term, Categorical):
            values = _as_level_strings(raw)
            levels = list(term.levels) if term.levels else _sorted_levels(values, raw)
            if len(levels) < 2:
                raise ModelingInputError(
                    f"predictor {term.column!r} is constant (every complete case is {levels[0]!r}); "
                    "a constant cannot be estimated — remove it from the formula"
                )
            if term.reference is not None:
                ref = str(term.reference)
                if ref not in levels:
                    raise ModelingInputError(
                        f"cat({term.column}, ref={ref!r}): level not found; allowed: {levels}"
                    )
                levels = [ref] + [lv for lv in levels if lv != ref]
            names = tuple(f"{term.column}={lv}" for lv in levels[1:])
            fitted.append(FittedTerm(term, names, levels=tuple(levels)))
            continue
        probe = FittedTerm(term, ())
        values = probe.values(data)
        raw_numeric = _as_numeric(raw, term.column)
        value_range = (float(np.min(raw_numeric)), float(np.max(raw_numeric))) if n else None
        distinct = np.unique(raw_numeric)
        few = tuple(float(v) for v in distinct) if distinct.size < 10 else None
        if np.unique(values).size < 2:
            raise ModelingInputError(
                f"predictor {term.column!r} is constant (every complete case is {values[0]:g}); "
                "a constant cannot be estimated — remove it from the formula"
            )
        if isinstance(term, Spline):
            if term.knots is not None:
                knots = np.asarray(sorted(term.knots), dtype=float)
            else:
                if np.unique(values).size < 6:
                    raise ModelingInputError(
                        f"rcs({term.label}, {term.n_knots}): {term.column!r} has only "
                        f"{np.unique(values).size} distinct values; a spline needs at least 6 — "
                        "use it linearly or as cat()"
                    )
                knots = rcs_default_knots(values, term.n_knots)
            label = term.label
            names = (label,) + tuple(label + "'" * (j + 1) for j in range(knots.size - 2))
            fitted.append(FittedTerm(term, names, knots=tuple(float(k) for k in knots), value_range=value_range,
                                      distinct_values=few))
        else:
            fitted.append(FittedTerm(term, (term.label,), value_range=value_range, distinct_values=few))
    return Design(tuple(fitted))


# --------------------------------------------------------------------------- outcome and complete cases


@dataclass(frozen=True)
class CompleteCaseReport:
    """How many rows a model used and why the others were excluded."""

    n_rows: int
    n_used: int
    missing_by_column: dict[str, int]
    excluded_rows: tuple[Any, ...] = field(repr=False)

    @property
    def n_excluded(self) -> int:
        return self.n_rows - self.n_used

    def describe(self) -> str:
        if not self.n_excluded:
            return f"all {self.n_rows} rows complete"
        parts = ", ".join(f"{c}: {k}" for c, k in self.missing_by_column.items() if k)
        return f"{self.n_excluded} of {self.n_rows} rows excluded for missing values ({parts}); {self.n_used} used"


def _missing_mask(s: pd.Series) -> np.ndarray:
    m = s.isna().to_numpy().copy()
    if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
        m |= s.astype(str).str.strip().isin(["", "NA", "NaN", "nan", "None"]).to_numpy() & s.notna().to_numpy()
    return m


def complete_cases(data: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, CompleteCaseReport]:
    """Rows with no missing value in ``columns`` (rms's ``na.delete``), and a report."""
    _require_columns(data, columns)
    masks = {c: _missing_mask(data[c]) for c in columns}
    any_missing = np.zeros(len(data), dtype=bool)
    for m in masks.values():
        any_missing |= m
    report = CompleteCaseReport(
        n_rows=len(data),
        n_used=int((~any_missing).sum()),
        missing_by_column={c: int(m.sum()) for c, m in masks.items()},
        excluded_rows=tuple(data.index[any_missing].tolist()),
    )
    return data.loc[~any_missing].copy(), report


_EVENT_WORDS = {"1", "1.0", "true", "yes", "y", "positive", "pos", "event"}


def code_outcome(values: pd.Series, column: str, event: Any = None) -> tuple[np.ndarray, str]:
    """The outcome as 0/1 and the label of the event level.

    Accepts 0/1 numbers, booleans, or a two-level column with ``event`` naming the
    event level (guessed for yes/no, true/false, positive/negative).
    """
    levels = sorted({_level_string(v) for v in values.tolist()})
    if len(levels) != 2:
        shown = levels[:8] + (["…"] if len(levels) > 8 else [])
        raise ModelingInputError(
            f"outcome {column!r} must be binary (two values, e.g. 0/1); found {len(levels)} distinct "
            f"value(s): {shown}"
        )
    if event is None:
        if set(levels) == {"0", "1"}:
            event = "1"
        else:
            guesses = [lv for lv in levels if lv.strip().lower() in _EVENT_WORDS]
            if len(guesses) != 1:
                raise ModelingInputError(
                    f"outcome {column!r} has levels {levels}; say which one is the event (e.g. --event {levels[-1]!r})"
                )
            event = guesses[0]
    event = _level_string(event)
    if event not in levels:
        raise ModelingInputError(f"event level {event!r} not found in outcome {column!r}; allowed: {levels}")
    y = np.array([_level_string(v) == event for v in values.tolist()], dtype=float)
    return y, event


def check_events(y: np.ndarray, column: str, min_events: int) -> None:
    """Refuse outcomes with too few events (or non-events) to fit a model."""
    n1 = int(y.sum())
    n0 = int(y.size - n1)
    if min(n1, n0) < min_events:
        which = "events" if n1 < n0 else "non-events"
        raise ModelingInputError(
            f"outcome {column!r} has {min(n1, n0)} {which} among {y.size} complete cases; "
            f"at least {min_events} of each are needed (allowed: >= {min_events}; lower min_events to override)"
        )


def events_per_parameter(y: np.ndarray, n_parameters: int) -> float:
    """Events (the rarer class) per estimated regression coefficient."""
    n1 = float(y.sum())
    return min(n1, y.size - n1) / max(n_parameters, 1)


def as_dataframe(data: Mapping[str, Sequence[Any]] | pd.DataFrame) -> pd.DataFrame:
    """Accept a DataFrame or a column mapping."""
    return data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)

