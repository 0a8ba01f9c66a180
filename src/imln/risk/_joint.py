"""One joint fit of a logistic model to every published cell, each averaged over its own case mix.

The first synthesis (:mod:`imln.risk._synthesis`) fits each published comparison with
its own nuisance intercept and then adds the contrasts on the log-odds scale, so
unadjusted effects from different series stack. This module fits one model,

    logit P(IMN+ | series s, x) = alpha_s + beta . x,

to all cells at once. A published cell is a rate among patients who share some
levels (say "4-6 nodes, medial"); its model probability is the model *averaged* over
the patients in it: the levels it fixes, and the other factors distributed as in that
series' margins (``mix`` in the plan). Each cell contributes a binomial likelihood
with the smallest group size consistent with the paper's printed figures (from
:func:`imln.risk._synthesis.feasible_group_sizes`). The negative log-likelihood is
minimised with ``scipy.optimize.minimize`` (L-BFGS-B, bounds for monotone effects);
standard errors come from the numerical Hessian (``statsmodels``).

Settings: the extended-mastectomy intercept is the random-effects mean of the series
intercepts (``statsmodels`` DerSimonian-Laird); other settings are calibrated so that
the model averaged over a stated case mix reproduces an anchor rate.

Method and results for users: ``docs/risk-models.md``; the plan is
``src/imln/risk/data/erm_joint_plan.yaml``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field
from scipy import optimize, stats
from scipy.special import expit, logit

from imln.evidence import EvidenceBase, load_evidence
from imln.evidence._twobytwo import feasible_numerators
from imln.risk._spec import Z95
from imln.risk._synthesis import (
    CellPlan,
    CohortPlan,
    TablePlan,
    ValueRef,
    _Plan,
    _round,
    feasible_group_sizes,
)

__all__ = ["JointPlan", "build_joint_model", "fit_joint", "joint_cells", "load_joint_plan", "joint_model_path"]

JOINT_PLAN_PATH = Path(__file__).parent / "data" / "erm_joint_plan.yaml"
NUISANCE_BOUND = 12.0  # logit bound of a nuisance share (a share of 6e-6 .. 1 - 6e-6)


# --------------------------------------------------------------------------- plan


class FactorPlan(_Plan):
    name: str
    levels: list[str] = Field(min_length=2)


class JointTermPlan(_Plan):
    name: str
    label: str
    feature: str
    kind: Literal["indicator"]
    when: dict[str, Any]
    factor: str
    level: str


class MixPlan(_Plan):
    from_table: dict[str, str] | None = None  # "level[,level...]" -> partition cell record
    same_as: str | None = None


class JointCellPlan(_Plan):
    record: str
    value: str = "percent"
    fix: dict[str, list[str]] = Field(default_factory=dict)
    nuisance: Literal["node_positive_share"] | None = None
    stratum: str = ""


class JointTablePlan(TablePlan):
    """A table of the first synthesis whose cells fix factor levels instead of naming terms."""

    cells: list[JointCellPlan] = Field(min_length=1)  # type: ignore[assignment]


class NoEffectPlan(_Plan):
    term: str
    source: str


class SeriesPlan(CohortPlan):
    """A cohort of the first synthesis with its case mix and the effects its own analysis found null."""

    no_effect: list[NoEffectPlan] = Field(default_factory=list)
    mix: dict[str, MixPlan]
    tables: list[JointTablePlan]  # type: ignore[assignment]


class SettingMixPlan(_Plan):
    series: str
    fix: dict[str, list[str]] = Field(default_factory=dict)


class JointSettingPlan(_Plan):
    id: str
    description: str
    series_intercept: str | None = None  # the intercept of one fitted series
    anchor: ValueRef | None = None
    mix: SettingMixPlan | None = None
    standard_error_from: Literal["printed_ci95", "counts"] | None = None
    count_n: ValueRef | None = None
    count_derivation: str = ""
    patient_settings: list[str] = Field(default_factory=list)


class JointPlan(_Plan):
    model: dict[str, Any]
    features: list[dict[str, Any]]
    factors: list[FactorPlan]
    terms: list[JointTermPlan]
    monotone: list[list[str]] = Field(default_factory=list)
    series: list[SeriesPlan]
    settings: list[JointSettingPlan]
    default_setting: str
    checks: dict[str, ValueRef] = Field(default_factory=dict)


def load_joint_plan(path: Path = JOINT_PLAN_PATH) -> JointPlan:
    return JointPlan.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def joint_model_path() -> Path:
    return Path(__file__).parent / "models" / "imln-erm-joint.yaml"


# --------------------------------------------------------------------------- design


class Design:
    """Every covariate pattern (one level per factor) and each term's indicator on it."""

    def __init__(self, plan: JointPlan) -> None:
        self.factors = [f.name for f in plan.factors]
        self.levels = {f.name: list(f.levels) for f in plan.factors}
        self.patterns = list(itertools.product(*(self.levels[f] for f in self.factors)))
        self.terms = [t.name for t in plan.terms]
        x = np.zeros((len(self.patterns), len(self.terms)))
        for j, t in enumerate(plan.terms):
            if t.factor not in self.levels or t.level not in self.levels[t.factor][1:]:
                raise ValueError(f"term {t.name}: {t.factor}={t.level} is not a non-reference level")
            i = self.factors.index(t.factor)
            x[:, j] = [p[i] == t.level for p in self.patterns]
        self.x = x

    def weights(self, mix: dict[str, np.ndarray], fix: dict[str, list[str]]) -> np.ndarray:
        """Pattern weights: the mix of each factor, restricted to the fixed levels and renormalised."""
        per_factor = []
        for f in self.factors:
            levels = self.levels[f]
            if f in fix:
                unknown = set(fix[f]) - set(levels)
                if unknown:
                    raise ValueError(f"{f}: unknown level(s) {sorted(unknown)}")
                keep = np.array([lv in fix[f] for lv in levels], dtype=float)
                if len(fix[f]) == 1:
                    per_factor.append(keep)
                    continue
                if f not in mix:
                    raise ValueError(f"factor {f!r} is fixed to several levels but its mix is unknown")
                d = mix[f] * keep
            else:
                if f not in mix:
                    raise ValueError(f"factor {f!r} is neither fixed by the cell nor given a mix")
                d = mix[f]
            per_factor.append(d / d.sum())
        w = np.ones(len(self.patterns))
        for i, d in enumerate(per_factor):
            w *= np.array([d[self.levels[self.factors[i]].index(p[i])] for p in self.patterns])
        return w


def resolve_mixes(plan: JointPlan, design: Design, evidence: EvidenceBase) -> dict[str, dict[str, np.ndarray]]:
    """Each series' distribution of every factor, from its own tables or another series'."""
    shares = {s.id: feasible_group_sizes(_cohort_plan(s), evidence).mean_share for s in plan.series}
    out: dict[str, dict[str, np.ndarray]] = {s.id: {} for s in plan.series}
    pending = [(s.id, f, m) for s in plan.series for f, m in s.mix.items()]
    for _ in range(len(pending) + 1):
        left = []
        for sid, f, m in pending:
            if f not in design.levels:
                raise ValueError(f"series {sid}: mix of unknown factor {f!r}")
            if m.from_table is not None:
                d = np.zeros(len(design.levels[f]))
                for key, record in m.from_table.items():
                    levels = key.split(",")
                    for lv in levels:
                        d[design.levels[f].index(lv)] += shares[sid][record] / len(levels)
                if not math.isclose(d.sum(), 1.0, abs_tol=1e-9):
                    raise ValueError(f"series {sid}: the {f} mix does not add up to 1")
                out[sid][f] = d
            elif m.same_as is not None and f in out.get(m.same_as, {}):
                out[sid][f] = out[m.same_as][f]
            else:
                left.append((sid, f, m))
        if not left:
            return out
        pending = left
    raise ValueError(f"unresolvable mixes: {[(s, f) for s, f, _ in pending]}")


def _cohort_plan(series: SeriesPlan) -> CohortPlan:
    """The series as a cohort of the first synthesis, for its feasible group sizes."""
    return CohortPlan(
        id=series.id,
        description=series.description,
        total=series.total,
        total_at_most=series.total_at_most,
        overall=series.overall,
        tables=[
            TablePlan(
                name=t.name,
                partition=t.partition,
                p_value=t.p_value,
                cells=[CellPlan(record=c.record, value=c.value, terms=[]) for c in t.cells],
            )
            for t in series.tables
        ],
    )


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class JointCell:
    series: str
    table: str
    record: str
    printed: str
    rate: float
    weight_n: int
    n_range: tuple[int, int]
    weight_derivation: str
    ci95: tuple[float, float]
    fix: dict[str, list[str]]
    nuisance: str | None
    stratum: str
    n_factors: int


def _clopper_pearson(rate: float, n: int, printed: Any) -> tuple[float, float]:
    ks = feasible_numerators(printed, n)
    if not ks:
        raise ValueError(f"no k/{n} gives {printed.printed}")
    k = min(ks, key=lambda k: abs(k / n - rate))
    ci = stats.binomtest(k, n).proportion_ci(method="exact")
    return float(ci.low), float(ci.high)


def _describe_fix(fix: dict[str, list[str]]) -> str:
    return "; ".join(f"{f} {' or '.join(v)}" for f, v in fix.items()) or "all patients"


def joint_cells(plan: JointPlan, evidence: EvidenceBase) -> list[JointCell]:
    cells = []
    for s in plan.series:
        sizes = feasible_group_sizes(_cohort_plan(s), evidence)
        for t in s.tables:
            for c in t.cells:
                v = evidence.get(c.record).values[c.value]
                n = sizes.minimum[c.record]
                cells.append(
                    JointCell(
                        series=s.id,
                        table=t.name,
                        record=c.record,
                        printed=v.printed,
                        rate=v.as_proportion(),
                        weight_n=n,
                        n_range=(n, sizes.maximum[c.record]),
                        weight_derivation=sizes.how[c.record],
                        ci95=_clopper_pearson(v.as_proportion(), n, v),
                        fix=dict(c.fix),
                        nuisance=c.nuisance,
                        stratum=c.stratum or _describe_fix(c.fix),
                        n_factors=len(c.fix) + (1 if c.nuisance else 0),
                    )
                )
    return cells


# --------------------------------------------------------------------------- likelihood


class JointProblem:
    """The negative log-likelihood of a set of cells as a function of a flat parameter vector."""

    def __init__(self, plan: JointPlan, design: Design, mixes: dict[str, dict[str, np.ndarray]],
                 cells: Sequence[JointCell]) -> None:
        self.design = design
        self.cells = list(cells)
        self.series = list(dict.fromkeys(c.series for c in cells))
        self.terms = design.terms
        self.nuisance = [c.record for c in cells if c.nuisance]
        no_effect = {s.id: {ne.term for ne in s.no_effect} for s in plan.series}
        self.mask = {s: np.array([t not in no_effect.get(s, set()) for t in self.terms], dtype=float)
                     for s in self.series}
        # theta = [alpha per series, raw term parameters, nuisance logits]; beta = A @ raw
        k = len(self.terms)
        self.a = np.eye(k)
        bounded = np.zeros(k, dtype=bool)
        for chain in plan.monotone:
            idx = [self.terms.index(t) for t in chain]
            for pos, j in enumerate(idx):
                self.a[j, :] = 0.0
                self.a[j, idx[: pos + 1]] = 1.0
                bounded[j] = True
        self.bounded_terms = bounded
        self.n_alpha, self.n_terms, self.n_nuis = len(self.series), k, len(self.nuisance)
        self.size = self.n_alpha + self.n_terms + self.n_nuis
        self.y = np.array([c.rate for c in cells])
        self.n = np.array([c.weight_n for c in cells], dtype=float)
        self.w_fixed: list[np.ndarray | tuple[np.ndarray, np.ndarray]] = []
        for c in cells:
            mix = mixes[c.series]
            if c.nuisance == "node_positive_share":
                levels = design.levels["nodes"]
                neg = design.weights(mix, {**c.fix, "nodes": [levels[0]]})
                pos = design.weights({**mix, "nodes": np.ones(len(levels))}, {**c.fix, "nodes": levels[1:]})
                self.w_fixed.append((neg, pos))
            else:
                self.w_fixed.append(design.weights(mix, c.fix))

    def names(self) -> list[str]:
        return [f"alpha[{s}]" for s in self.series] + [f"raw[{t}]" for t in self.terms] + \
            [f"share_node_positive[{r}]" for r in self.nuisance]

    def bounds(self) -> list[tuple[float | None, float | None]]:
        b: list[tuple[float | None, float | None]] = [(None, None)] * self.n_alpha
        b += [(0.0, None) if bd else (None, None) for bd in self.bounded_terms]
        b += [(-NUISANCE_BOUND, NUISANCE_BOUND)] * self.n_nuis
        return b

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        alpha = theta[: self.n_alpha]
        beta = self.a @ theta[self.n_alpha : self.n_alpha + self.n_terms]
        return alpha, beta, theta[self.n_alpha + self.n_terms :]

    def probabilities(self, theta: np.ndarray) -> np.ndarray:
        alpha, beta, nuis = self.split(theta)
        p = np.empty(len(self.cells))
        q_index = 0
        for i, c in enumerate(self.cells):
            s = self.series.index(c.series)
            pattern_p = expit(alpha[s] + self.design.x @ (beta * self.mask[c.series]))
            w = self.w_fixed[i]
            if isinstance(w, tuple):
                q = expit(nuis[q_index])
                q_index += 1
                p[i] = (1 - q) * (w[0] @ pattern_p) + q * (w[1] @ pattern_p)
            else:
                p[i] = w @ pattern_p
        return p

    def negloglik(self, theta: np.ndarray) -> float:
        p = np.clip(self.probabilities(theta), 1e-12, 1 - 1e-12)
        return float(-np.sum(self.n * (self.y * np.log(p) + (1 - self.y) * np.log1p(-p))))


@dataclass(frozen=True)
class JointFit:
    problem: JointProblem
    theta: np.ndarray
    covariance: np.ndarray  # of theta (zero rows/columns for parameters held at a bound)
    fixed: list[str]  # parameters held at 0 (at a bound, or not identified)
    fitted: np.ndarray
    deviance: float
    pearson_chi2: float
    df_residual: int

    @property
    def alpha(self) -> np.ndarray:
        return self.problem.split(self.theta)[0]

    @property
    def beta(self) -> np.ndarray:
        return self.problem.split(self.theta)[1]

    def beta_covariance(self) -> np.ndarray:
        """Covariance of (alpha per series, beta) from that of theta."""
        p = self.problem
        m = np.zeros((p.n_alpha + p.n_terms, p.size))
        m[: p.n_alpha, : p.n_alpha] = np.eye(p.n_alpha)
        m[p.n_alpha :, p.n_alpha : p.n_alpha + p.n_terms] = p.a
        return m @ self.covariance @ m.T


def _minimise(problem: JointProblem, fixed: set[int]) -> np.ndarray:
    bounds = problem.bounds()
    for i in fixed:
        bounds[i] = (0.0, 0.0)
    start = np.zeros(problem.size)
    start[: problem.n_alpha] = logit(0.15)
    for j in range(problem.n_terms):
        if problem.n_alpha + j not in fixed:
            start[problem.n_alpha + j] = 0.2
    best = None
    for method_start in (start, np.where(np.isin(np.arange(problem.size), list(fixed)), 0.0, start * 2)):
        res = optimize.minimize(problem.negloglik, method_start, method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 20000, "maxfun": 200000})
        if best is None or res.fun < best.fun - 1e-10:
            best = res
    assert best is not None
    return best.x


def _hessian(problem: JointProblem, theta: np.ndarray, free: np.ndarray) -> np.ndarray:
    from statsmodels.tools.numdiff import approx_hess3

    def f(sub: np.ndarray) -> float:
        full = theta.copy()
        full[free] = sub
        return problem.negloglik(full)

    return approx_hess3(theta[free], f)


def fit_joint(problem: JointProblem, *, drop_unidentified: bool = False) -> JointFit:
    """Maximum likelihood with monotone bounds; parameters at a bound are held there for the SEs.

    With ``drop_unidentified`` (leave-one-series-out fits), a direction the remaining cells
    cannot identify is removed by holding a term parameter at 0 (no effect beyond the previous
    level of its chain), preferring the highest level of a chain, and refitting.
    """
    fixed: set[int] = set()
    lo_terms = problem.n_alpha
    hi_terms = problem.n_alpha + problem.n_terms
    for _ in range(problem.n_terms + 1):
        theta = _minimise(problem, fixed)
        at_bound = {problem.n_alpha + j for j in range(problem.n_terms)
                    if problem.bounded_terms[j] and theta[problem.n_alpha + j] < 1e-7}
        held = fixed | at_bound
        free = np.array([i not in held for i in range(problem.size)])
        theta[~free] = 0.0
        h = _hessian(problem, theta, free)
        eig, vec = np.linalg.eigh((h + h.T) / 2)
        if eig.min() > 1e-6 * max(eig.max(), 1.0):
            break
        if not drop_unidentified:
            raise ValueError("the cells do not identify every parameter (singular Hessian)")
        direction = np.zeros(problem.size)
        direction[free] = vec[:, 0]
        candidates = [i for i in range(hi_terms - 1, lo_terms - 1, -1) if i not in held]
        pick = next((i for i in candidates if abs(direction[i]) > 0.1), None)
        if pick is None:
            raise ValueError("a non-identified direction involves no term parameter")
        fixed.add(pick)
    cov = np.zeros((problem.size, problem.size))
    cov[np.ix_(free, free)] = np.linalg.inv((h + h.T) / 2)
    p = problem.probabilities(theta)
    y, n = problem.y, problem.n
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * np.sum(n * (np.where(y > 0, y * np.log(y / p), 0) + np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - p)), 0)))
    pearson = float(np.sum(n * (y - p) ** 2 / (p * (1 - p))))
    names = problem.names()
    return JointFit(problem, theta, cov, [names[i] for i in sorted(held)], p, float(dev), pearson,
                    int(len(problem.cells) - free.sum()))


def pooled_intercept(fit: JointFit, method: str = "dl") -> tuple[np.ndarray, float, float]:
    """Random-effects mean of the series intercepts: (row mapping theta to it, tau^2, mean)."""
    from statsmodels.stats.meta_analysis import combine_effects

    p = fit.problem
    var = np.diag(fit.covariance)[: p.n_alpha]
    alpha = fit.alpha
    if p.n_alpha == 1:
        row = np.zeros(p.size)
        row[0] = 1.0
        return row, 0.0, float(alpha[0])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its HKSJ extras take sqrt of a negative tau^2
        res = combine_effects(alpha, var, method_re=method)
    tau2 = max(0.0, float(res.tau2))  # the moment estimate is truncated at 0
    w = 1.0 / (var + tau2)
    w = w / w.sum()
    row = np.zeros(p.size)
    row[: p.n_alpha] = w
    return row, tau2, float(w @ alpha)


def _mix_weights(design: Design, mixes: dict[str, dict[str, np.ndarray]], mix: Any) -> np.ndarray:
    return design.weights(mixes[mix.series], dict(mix.fix))


def calibrate_intercept(design: Design, beta: np.ndarray, weights: np.ndarray, target: float) -> float:
    """The intercept at which the model averaged over ``weights`` equals ``target``."""
    return float(optimize.brentq(lambda a: weights @ expit(a + design.x @ beta) - target, -30, 30, xtol=1e-14))


# --------------------------------------------------------------------------- leave one series out


def leave_one_series_out(plan: JointPlan, design: Design, mixes: dict[str, dict[str, np.ndarray]],
                         cells: Sequence[JointCell]) -> dict[str, dict[str, Any]]:
    """Refit without each series; predict its cells with the pooled intercept of the others."""
    out: dict[str, dict[str, Any]] = {}
    for s in plan.series:
        kept = [c for c in cells if c.series != s.id]
        problem = JointProblem(plan, design, mixes, kept)
        fit = fit_joint(problem, drop_unidentified=True)
        row, tau2, mu = pooled_intercept(fit)
        beta = fit.beta
        mask = np.array([t not in {ne.term for ne in s.no_effect} for t in design.terms], dtype=float)
        pattern_p = expit(mu + design.x @ (beta * mask))
        preds = {}
        for c in cells:
            if c.series != s.id:
                continue
            # a size cell's node-positive share cannot be learnt from other series: the series mix
            w = design.weights(mixes[s.id], c.fix)
            preds[c.record] = float(w @ pattern_p)
        out[s.id] = {"predictions": preds, "held_at_zero": fit.fixed, "intercept": mu, "tau2": tau2}
    return out


# --------------------------------------------------------------------------- build


def _sources(plan: JointPlan, cells: Sequence[JointCell]) -> dict[str, list[str]]:
    """Records of every cell that fixes the term's factor (those are the ones that inform it)."""
    out: dict[str, list[str]] = {}
    for t in plan.terms:
        recs = [c.record for c in cells if t.factor in c.fix]
        if t.factor == "nodes":
            recs += [c.record for c in cells if c.nuisance == "node_positive_share" and c.record not in recs]
        out[t.name] = recs
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def build_joint_model(plan: JointPlan | None = None, evidence: EvidenceBase | None = None) -> dict[str, Any]:
    """The specification (a plain dict ready for YAML) the joint plan and the evidence imply."""
    plan = plan or load_joint_plan()
    evidence = evidence or load_evidence()
    design = Design(plan)
    mixes = resolve_mixes(plan, design, evidence)
    cells = joint_cells(plan, evidence)
    problem = JointProblem(plan, design, mixes, cells)
    fit = fit_joint(problem)
    loso = leave_one_series_out(plan, design, mixes, cells)
    cov_ab = fit.beta_covariance()
    k_a = problem.n_alpha

    # ---- settings
    row, tau2, mu = pooled_intercept(fit)
    m = np.zeros((1 + problem.n_terms, problem.size))
    m[0] = row
    m[1:, k_a : k_a + problem.n_terms] = problem.a
    cov_by_setting: dict[str, np.ndarray] = {}
    beta = fit.beta
    settings = []
    for sp in plan.settings:
        entry: dict[str, Any] = {"id": sp.id, "description": sp.description}
        if sp.series_intercept is not None:
            i = problem.series.index(sp.series_intercept)
            row_s = np.zeros(problem.size)
            row_s[i] = 1.0
            m_s = m.copy()
            m_s[0] = row_s
            cov_s = m_s @ fit.covariance @ m_s.T
            cov_s[0, 0] += tau2
            cov_by_setting[sp.id] = (cov_s + cov_s.T) / 2
            alpha_s = float(fit.alpha[i])
            series_text = ", ".join(f"{s} {_pct(float(expit(a)))}" for s, a in zip(problem.series, fit.alpha, strict=True))
            entry |= {
                "intercept": _round(alpha_s),
                "standard_error": _round(math.sqrt(cov_by_setting[sp.id][0, 0])),
                "anchor": (
                    f"the {sp.series_intercept} intercept of the joint fit (reference patient: node-negative, lateral, "
                    f"over 50; {_pct(expit(alpha_s))}), the only series whose intercept rests on its own node-negative "
                    f"cell and its own margins. Series intercepts: {series_text}; their random-effects mean "
                    f"{_pct(expit(mu))}; between-series tau^2 {tau2:.4f} (DerSimonian-Laird) is added to the variance"
                ),
                "sources": [c.record for c in cells if c.series == sp.series_intercept],
            }
        else:
            assert sp.anchor is not None and sp.mix is not None
            v = evidence.get(sp.anchor.record).values[sp.anchor.value]
            weights = _mix_weights(design, mixes, sp.mix)
            if sp.standard_error_from == "counts":
                assert sp.count_n is not None
                n = int(evidence.get(sp.count_n.record).values[sp.count_n.value].number)
                ks = feasible_numerators(v, n)
                if len(ks) != 1:
                    raise ValueError(f"setting {sp.id}: {len(ks)} numerators k/{n} give {v.printed}")
                k = ks[0]
                target = k / n
                se = math.sqrt(1 / k + 1 / (n - k))
                how = f"{k}/{n} ({v.printed}); {sp.count_derivation.strip().rstrip('.')}"
                sources = [sp.anchor.record, sp.count_n.record]
            else:
                target = v.as_proportion()
                lo, hi = (x / v.scale for x in v.ci_numbers)  # type: ignore[misc]
                se = (logit(hi) - logit(lo)) / (2 * Z95)
                how = f"{v.printed} (95% CI {v.ci95[0]}-{v.ci95[1]}), SE from the printed CI on the logit scale"  # type: ignore[index]
                sources = [sp.anchor.record]
            alpha = calibrate_intercept(design, beta, weights, target)
            mix_text = _describe_fix(sp.mix.fix) if sp.mix.fix else "all patients"
            entry |= {
                "intercept": _round(alpha),
                "standard_error": _round(se),
                "anchor": (
                    f"{sp.anchor.record}: {how}. The intercept makes the model averaged over "
                    f"{sp.mix.series}'s case mix ({mix_text}) equal {_pct(target)}"
                ),
                "sources": sources,
            }
        if sp.patient_settings:
            entry["patient_settings"] = list(sp.patient_settings)
        settings.append(entry)

    if plan.default_setting not in cov_by_setting:
        raise ValueError("the default setting must be a series intercept (its covariance with the terms is known)")
    cov = cov_by_setting[plan.default_setting]

    # ---- terms
    se_beta = np.sqrt(np.diag(cov_ab))[k_a:]
    sources = _sources(plan, cells)
    terms = []
    for j, t in enumerate(plan.terms):
        terms.append({
            "name": t.name, "label": t.label, "feature": t.feature, "kind": t.kind, "when": t.when,
            "log_odds": _round(beta[j]),
            "standard_error": _round(se_beta[j]) if se_beta[j] > 0 else None,
            "sources": sources[t.name],
            "derivation": "joint binomial maximum likelihood over every published cell, each averaged over its "
                          "case mix (imln.risk._joint)"
                          + ("; monotone (bounded)" if problem.bounded_terms[j] else ""),
        })

    # ---- per-cell validation
    loso_pred = {r: p for s in loso.values() for r, p in s["predictions"].items()}
    fit_cells = []
    for i, c in enumerate(cells):
        f = float(fit.fitted[i])
        fit_cells.append({
            "record": c.record, "cohort": c.series, "table": c.table, "printed": c.printed,
            "weight_n": c.weight_n, "n_range": list(c.n_range), "weight_derivation": c.weight_derivation,
            "terms": [t.name for t in plan.terms if c.fix.get(t.factor) == [t.level]],
            "fitted": _round(f),
            "stratum": c.stratum,
            "factors": c.n_factors,
            "ci95": [_round(c.ci95[0]), _round(c.ci95[1])],
            "in_ci95": bool(c.ci95[0] <= f <= c.ci95[1]),
            "observed_expected": _round(c.rate / f),
            "loso": _round(loso_pred[c.record]),
            "loso_in_ci95": bool(c.ci95[0] <= loso_pred[c.record] <= c.ci95[1]),
        })
    calibration = []
    for nf in sorted({c.n_factors for c in cells}):
        idx = [i for i, c in enumerate(cells) if c.n_factors == nf]
        obs = float(sum(cells[i].rate * cells[i].weight_n for i in idx))
        exp = float(sum(fit.fitted[i] * cells[i].weight_n for i in idx))
        exp_loso = float(sum(loso_pred[cells[i].record] * cells[i].weight_n for i in idx))
        calibration.append({
            "factors": nf, "cells": len(idx), "observed": _round(obs), "expected": _round(exp),
            "observed_expected": _round(obs / exp), "expected_loso": _round(exp_loso),
            "observed_expected_loso": _round(obs / exp_loso),
        })
    nuisance = []
    _, _, nuis = problem.split(fit.theta)
    for r, q in zip(problem.nuisance, nuis, strict=True):
        nuisance.append({"name": f"node-positive share, {r}", "value": _round(float(expit(q))),
                         "description": "fitted so that the size cell is reproduced without a size term"})
    mix_rows = []
    for sid, per in mixes.items():
        sp = next(s for s in plan.series if s.id == sid)
        for f, d in per.items():
            mp = sp.mix[f]
            how = f"same as {mp.same_as}" if mp.same_as else "mean share over the feasible group sizes of " + \
                ", ".join(mp.from_table.values())  # type: ignore[union-attr]
            for lv, share in zip(design.levels[f], d, strict=True):
                mix_rows.append({"name": f"{sid} {f} {lv}", "value": _round(float(share)), "description": how})
    series_rows = [
        {"name": f"intercept {s}", "value": _round(float(a)), "standard_error": _round(math.sqrt(fit.covariance[i, i])),
         "description": f"reference patient (node-negative, lateral, over 50) in {s}: {_pct(float(expit(a)))}"}
        for i, (s, a) in enumerate(zip(problem.series, fit.alpha, strict=True))
    ]
    series_rows.append({"name": "random-effects mean intercept", "value": _round(mu),
                        "standard_error": _round(math.sqrt(row @ fit.covariance @ row + tau2)),
                        "description": f"{_pct(expit(mu))}; a sensitivity analysis for the erm_era intercept"})
    series_rows.append({"name": "tau^2 between series", "value": _round(tau2),
                        "description": "DerSimonian-Laird, statsmodels.stats.meta_analysis.combine_effects, truncated at 0"})
    loso_rows = [
        {"name": f"leave out {sid}", "value": _round(v["intercept"]),
         "description": "pooled intercept of the other series; term parameters held at zero (at their bound, or "
                        "not identified without this series): "
                        + (", ".join(v["held_at_zero"]) or "none")}
        for sid, v in loso.items()
    ]

    checks = []
    if "aln_odds_ratio" in plan.checks:
        ref = plan.checks["aln_odds_ratio"]
        v = evidence.get(ref.record).values[ref.value]
        im = next(s for s in settings if s["id"] == "im_slnb")
        mix = mixes[next(sp.mix.series for sp in plan.settings if sp.id == "im_slnb")]  # type: ignore[union-attr]
        levels = design.levels["nodes"]
        p_neg = design.weights(mix, {"nodes": [levels[0]]}) @ expit(im["intercept"] + design.x @ beta)
        p_pos = design.weights(mix, {"nodes": levels[1:]}) @ expit(im["intercept"] + design.x @ beta)
        implied = (p_pos / (1 - p_pos)) / (p_neg / (1 - p_neg))
        lo, hi = v.ci_numbers or (math.nan, math.nan)
        checks.append({
            "name": "axillary-positive odds ratio, im_slnb setting",
            "value": _round(float(implied)),
            "description": f"node-positive vs node-negative, averaged over the im_slnb case mix; published pooled "
                           f"IM-SLNB OR {v.printed} (95% CI {v.ci95[0]}-{v.ci95[1]}), {ref.record}: "  # type: ignore[index]
                           + ("inside" if lo <= implied <= hi else "OUTSIDE") + " its CI",
        })

    mdl = plan.model
    assumptions = list(mdl["assumptions"])
    return {
        "schema_version": "1",
        "id": mdl["id"],
        "version": mdl["version"],
        "title": mdl["title"],
        "summary": mdl["summary"],
        "obtained": "synthesised_from_aggregate_data",
        "outcome": mdl["outcome"],
        "ascertainment": mdl["ascertainment"],
        "intended_population": mdl["intended_population"],
        "era": mdl.get("era"),
        "features": plan.features,
        "terms": terms,
        "settings": settings,
        "default_setting": plan.default_setting,
        "covariance": {"parameters": ["(intercept)", *problem.terms],
                       "matrix": [[_round(v) for v in r] for r in cov]},
        "performance": [],
        "validation": (
            "none on individual patients. The fit is checked against every published cell it was fitted to "
            "(fit.cells: fitted rate, 95% CI, in-CI status, observed/expected), by the number of stacked factors "
            "(fit.calibration), and by leave-one-series-out prediction (fit.cells loso); tests/risk/test_joint_model.py."
        ),
        "assumptions": assumptions,
        "limitations": list(mdl["limitations"]),
        "citations": list(mdl["citations"]),
        "fit": {
            "method": (
                "joint binomial likelihood over every published cell, each cell's probability the model averaged over "
                "its case mix; series intercepts; monotone node-count and age effects (L-BFGS-B bounds); "
                "scipy.optimize.minimize, standard errors from the statsmodels numerical Hessian; "
                "weights = smallest group size consistent with the printed figures"
            ),
            "cells": fit_cells,
            "deviance": _round(fit.deviance),
            "pearson_chi2": _round(fit.pearson_chi2),
            "df_residual": fit.df_residual,
            "held_at_bound": fit.fixed,
            "calibration": calibration,
            "series": series_rows + loso_rows,
            "nuisance": nuisance,
            "mix": mix_rows,
            "checks": checks,
        },
        "generated_by": "scripts/build_default_risk_model.py from src/imln/risk/data/erm_joint_plan.yaml",
    }


HEADER = (
    "# GENERATED by scripts/build_default_risk_model.py from the evidence base and\n"
    "# src/imln/risk/data/erm_joint_plan.yaml. Do not edit by hand; regenerate.\n"
)


def dump_joint_model(model: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(model, sort_keys=False, allow_unicode=True, width=100)
