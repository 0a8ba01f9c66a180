"""IMN radiotherapy: absolute benefit against excess cardiac harm — an explicit, documented model.

**Benefit.** One trial result from the evidence base (``benefit_source``; by
default the EORTC 22922/10925 15-year breast cancer mortality, a choice stated
in ``data/sources.yaml``). Its control-arm rate ``R_c`` (cumulative mortality
``F_c``, or survival ``S_c``) and hazard ratio HR give, under proportional
hazards,

    mortality endpoint:  benefit = F_c − (1 − (1 − F_c)^HR)
    survival endpoint:   benefit = S_c^HR − S_c

in absolute percentage points at the trial's horizon. The uncertainty is that
of HR: log HR ~ Normal(log HR, se) with se from the printed 95% CI; the
control-arm rate is taken as known. (The printed arm difference is shown next
to it, in ``trial_figures``.)

**Scaling by the patient's IMLN probability.** If all of the benefit arises in
patients who have IMLN metastasis, and equally in each of them, the benefit for
a patient with probability ``p`` is ``benefit_trial × p / p_trial``, where
``p_trial`` is the prevalence of IMLN metastasis in the trial population. The
evidence base holds **no** such prevalence for any IMN trial, so by default the
benefit is **not scaled**: the trial's average benefit is shown, with the
patient's probability next to it. Pass ``trial_imln_prevalence`` (a
:class:`ProbabilityEstimate` with its source, or ``"record_id:value"`` of an
evidence record the user judges applicable) to scale; the choice is then the
user's and is labelled so.

**Harm.** Excess absolute risk of a major coronary event over the horizon of the
user's baseline risk:

    harm = baseline risk × ERR per Gy × (MHD with IMN − MHD without IMN)

with ERR = 7.4% per Gy (95% CI 2.9–14.5%; Darby 2013, record
``darby2013-dose-response``). Its uncertainty is a two-piece normal through the
point estimate and both CI bounds (the monotone map of a standard normal z to
``point + z·(point − lower)/1.96`` for z < 0 and ``point + z·(upper − point)/1.96``
for z ≥ 0, truncated at 0), so its 2.5th, 50th and 97.5th percentiles are the
printed lower bound, point and upper bound. Modifiers without a sourced number
(anthracycline, trastuzumab, coronary heart disease, life expectancy) are listed
and never quantified.

**Net** = benefit − harm per draw, in percentage points: positive favours IMN
radiotherapy. It weighs one major coronary event like one breast cancer death,
which overstates the harm (not every coronary event is fatal), and it compares
the trial's horizon with the baseline risk's (a warning names both).

Monte Carlo: ``n_draws`` draws from ``numpy.random.SeedSequence(seed)`` spawned
into independent streams for the patient's probability, the trial prevalence,
the hazard ratio and the ERR; the same ``seed`` gives the same numbers, and the
ERR draws do not depend on the doses (so a higher heart dose can never raise
the net benefit, draw by draw).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from imln._cache import Same
from imln._quantiles import quantiles
from imln.decision._montecarlo import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    standard_normals,
)
from imln.decision._probability import ProbabilityEstimate
from imln.decision._rationale import Figure, evidence_figure
from imln.evidence import EvidenceBase, load_evidence

__all__ = ["DEFAULT_DRAWS", "DEFAULT_SEED", "Quantity", "RTBalance", "TrialFigure", "rt_balance"]

Z975 = 1.959963984540054

LABEL = (
    "Model-based estimate, not a trial result and not validated against outcomes: a published trial effect "
    "(optionally scaled by the patient's IMLN probability) against Darby 2013's dose-response applied to the "
    "heart doses and baseline cardiac risk entered by the user. Read the assumptions."
)

REQUIRED_CARDIAC = (
    "cardiac.mean_heart_dose_gy_with_imn",
    "cardiac.mean_heart_dose_gy_without_imn",
    "cardiac.baseline_cardiac_risk_percent",
)

METHOD = [
    ("benefit (mortality endpoint) = F_c − (1 − (1 − F_c)^HR); (survival endpoint) = S_c^HR − S_c; "
    "F_c, S_c = control-arm rate of the benefit source; log HR ~ Normal(log HR, se from the printed 95% CI)"),
    ("scaled benefit = benefit × p / p_trial (only when p_trial, the trial population's IMLN-metastasis "
    "prevalence, is given; the evidence base holds none)"),
    ("harm = baseline major-coronary-event risk × ERR per Gy × (mean heart dose with IMN − without IMN); "
    "ERR ~ two-piece normal through Darby 2013's point estimate and 95% CI, truncated at 0"),
    "net = benefit − harm, per Monte Carlo draw; intervals are equal-tailed percentiles",
]

ASSUMPTIONS = [
    ("The trial's relative effect (hazard ratio) applies to this patient; proportional hazards translate it to "
    "an absolute difference at the trial horizon from the control-arm rate, whose own sampling error is ignored."),
    ("Unscaled: the trial population's average benefit is shown; it overstates the benefit for a patient less "
    "likely than that population to have IMLN metastasis and understates it for one more likely."),
    ("Scaled: all of the benefit arises in patients with IMLN metastasis and equally in each of them, so it is "
    "proportional to the probability of IMLN metastasis; benefit from irradiating other nodal regions (MA.20 and "
    "EORTC also irradiated the medial supraclavicular nodes) is attributed to the IMN."),
    ("Darby 2013's excess relative risk per Gy (women irradiated 1958–2001) applies linearly, without threshold, "
    "to the user's baseline risk of a major coronary event over its horizon, and to the whole-heart mean dose "
    "difference between the two plans."),
    ("One major coronary event weighs as much as one breast cancer death avoided (not every coronary event is "
    "fatal, so the harm is overstated)."),
    "Benefit and harm uncertainties are independent.",
    ("Anthracycline, trastuzumab, coronary heart disease and life expectancy change the balance in ways the "
    "evidence base does not quantify; they are listed, not computed."),
]


class Quantity(BaseModel):
    """A model output in absolute percentage points, with its Monte Carlo interval."""

    model_config = ConfigDict(frozen=True)

    point: float
    lower: float | None
    upper: float | None
    level: float = 0.95
    unit: str = "percentage points (absolute)"
    horizon_years: float | None
    description: str


class TrialFigure(BaseModel):
    """One trial result the benefit could come from, unscaled, as printed."""

    model_config = ConfigDict(frozen=True)

    record_id: str
    citation: str
    endpoint: Literal["mortality", "survival"]
    endpoint_label: str
    horizon_years: float
    design: str
    irradiated: str
    percent_rni: Figure
    percent_control: Figure
    hazard_ratio: Figure | None
    printed_difference_pp: float = Field(description="Absolute benefit from the printed arms (RNI better > 0).")
    statement: str


class Scaling(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["scaled", "not_scaled"]
    patient_probability: ProbabilityEstimate | None
    trial_imln_prevalence: ProbabilityEstimate | None = None
    trial_prevalence_figure: Figure | None = Field(None, description="When taken from an evidence record.")
    factor: Quantity | None = None
    message: str


class HarmInputs(BaseModel):
    model_config = ConfigDict(frozen=True)

    baseline_cardiac_risk_percent: float
    baseline_cardiac_risk_horizon_years: float
    mean_heart_dose_gy_with_imn: float
    mean_heart_dose_gy_without_imn: float
    delta_mean_heart_dose_gy: float
    excess_relative_risk_per_gy: Figure
    distribution: str


class ModifierNote(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    field: str
    patient_value: Any = Field(description="The patient's value (None = unknown).")
    text: str
    records: list[str]
    citation: str
    location: str
    quantified: Literal[False] = False


class RTBalance(BaseModel):
    """IMN radiotherapy benefit, cardiac harm and net, or what is needed to compute them."""

    model_config = ConfigDict(frozen=True)

    status: Literal["computed", "not_computable"]
    needs: list[str] = Field(default_factory=list, description="Patient fields to enter (status not_computable).")
    message: str
    label: str = LABEL
    method: list[str] = Field(default_factory=lambda: list(METHOD))
    assumptions: list[str] = Field(default_factory=lambda: list(ASSUMPTIONS))
    benefit_source: str
    benefit_source_basis: str
    trial_figures: list[TrialFigure]
    scaling: Scaling | None = None
    benefit: Quantity | None = None
    harm: Quantity | None = None
    net: Quantity | None = None
    probability_net_positive: float | None = Field(None, description="Share of Monte Carlo draws with net > 0.")
    probability_net_positive_mc_se: float | None = Field(
        None, description="Monte Carlo standard error of that share, sqrt(q(1 − q)/n_draws)."
    )
    break_even_probability: float | None = Field(
        None, description="IMLN probability at which the scaled benefit equals the harm (point values; scaled only)."
    )
    harm_inputs: HarmInputs | None = None
    cardiac_timing: Figure
    context_records: list[str]
    modifiers: list[ModifierNote]
    warnings: list[str] = Field(default_factory=list)
    seed: int
    n_draws: int


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


def _trial_figure(evidence: EvidenceBase, record_id: str, src: Any) -> TrialFigure:
    record = evidence.get(record_id)
    rni = evidence_figure(evidence, record_id, "percent_rni", "rni")
    ctl = evidence_figure(evidence, record_id, "percent_control", "ctl")
    hr = evidence_figure(evidence, record_id, "hazard_ratio", "hr") if "hazard_ratio" in record.values else None
    diff = (ctl.value - rni.value) if src.endpoint == "mortality" else (rni.value - ctl.value)
    return TrialFigure(
        record_id=record_id, citation=record.citation, endpoint=src.endpoint, endpoint_label=src.endpoint_label,
        horizon_years=src.horizon_years, design=src.design, irradiated=src.irradiated, percent_rni=rni,
        percent_control=ctl, hazard_ratio=hr, printed_difference_pp=round(diff, 10), statement=record.statement,
    )


def _quantile_matched(z: np.ndarray, point: float, lower: float, upper: float) -> np.ndarray:
    """Two-piece normal through (lower, point, upper) as its 2.5th, 50th and 97.5th percentiles (``z``: N(0, 1))."""
    return np.where(z < 0, point + z * (point - lower) / Z975, point + z * (upper - point) / Z975)


@lru_cache(maxsize=16)
def _trial_figures(evidence_key: Same) -> list[TrialFigure]:
    """Every benefit source's printed figures (patient-independent: built once per evidence base)."""
    from imln.decision._recommend import checked_sources

    evidence: EvidenceBase = evidence_key.obj  # type: ignore[assignment]
    rt = checked_sources(evidence).radiotherapy
    return [_trial_figure(evidence, rid, src) for rid, src in rt.benefit_sources.items()]


@lru_cache(maxsize=32)
def _trial_benefit(evidence_key: Same, source_id: str, endpoint: str, control: float, seed: int, n: int,
                   level: float) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Unscaled trial benefit: its draws (read-only), point and interval. Patient-independent, so built once."""
    evidence: EvidenceBase = evidence_key.obj  # type: ignore[assignment]
    hr_value = evidence.get(source_id).values["hazard_ratio"]
    hr_point = hr_value.number
    if hr_value.ci_numbers is not None:
        lo, hi = hr_value.ci_numbers
        se = (math.log(hi) - math.log(lo)) / (2 * Z975)
        hr = np.exp(math.log(hr_point) + se * standard_normals(seed, 2, 4, n))
    else:
        hr = np.full(n, hr_point)

    def absolute(h: np.ndarray | float) -> np.ndarray | float:
        if endpoint == "mortality":
            return 100.0 * (control - (1.0 - (1.0 - control) ** h))
        return 100.0 * (control**h - control)

    draws = np.asarray(absolute(hr), dtype=float)
    draws.setflags(write=False)
    return draws, float(absolute(hr_point)), _interval(draws, level)


@lru_cache(maxsize=32)
def _excess_relative_risk(evidence_key: Same, record_id: str, value_name: str, seed: int, n: int,
                          level: float) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Darby's ERR per Gy as a proportion: its draws (read-only), point and interval. Built once."""
    evidence: EvidenceBase = evidence_key.obj  # type: ignore[assignment]
    value = evidence.get(record_id).values[value_name]
    point = value.number / 100.0
    lo, hi = (x / 100.0 for x in value.ci_numbers)  # type: ignore[union-attr]
    draws = np.maximum(_quantile_matched(standard_normals(seed, 3, 4, n), point, lo, hi), 0.0)
    draws.setflags(write=False)
    return draws, point, _interval(draws, level)


def _interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2
    lo, hi = quantiles(x, (tail, 1 - tail))
    return float(lo), float(hi)


def _trial_prevalence(value: ProbabilityEstimate | str | None, evidence: EvidenceBase
                      ) -> tuple[ProbabilityEstimate | None, Figure | None]:
    if value is None or isinstance(value, ProbabilityEstimate):
        return value, None
    if not isinstance(value, str) or value.count(":") != 1:
        raise ValueError("trial_imln_prevalence must be a ProbabilityEstimate or 'record_id:value_name'; "
                         f"got {value!r}")
    record_id, name = value.split(":")
    fig = evidence_figure(evidence, record_id, name, "p_trial")
    ev_value = evidence.get(record_id).values[name]
    p = ev_value.as_proportion()
    source = (f"evidence record {record_id} ({name} = {ev_value.printed}); that it describes the trial population "
              "is the user's assumption")
    if ev_value.ci_numbers is not None:
        lo, hi = (x / ev_value.scale for x in ev_value.ci_numbers)
        return ProbabilityEstimate(point=p, lower=min(lo, p), upper=max(hi, p), source=source), fig
    return ProbabilityEstimate.from_point(p, source), fig


def rt_balance(
    imln_probability: ProbabilityEstimate | None,
    patient: Any,
    evidence: EvidenceBase | None = None,
    *,
    benefit_source: str | None = None,
    trial_imln_prevalence: ProbabilityEstimate | str | None = None,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> RTBalance:
    """Benefit of IMN radiotherapy against its excess cardiac risk for ``patient`` (see the module docstring).

    Never raises for missing patient data: when the heart doses or the baseline
    cardiac risk are missing, returns ``status='not_computable'`` with ``needs``
    naming the :class:`~imln.schema.CardiacContext` fields to enter (the trial
    figures are still listed).
    """
    from imln.decision._recommend import checked_sources

    if imln_probability is not None and not isinstance(imln_probability, ProbabilityEstimate):
        raise TypeError(
            f"imln_probability must be a ProbabilityEstimate or None; got {type(imln_probability).__name__}"
        )
    if not (isinstance(n_draws, int) and n_draws >= 100):
        raise ValueError(f"n_draws must be an integer ≥ 100; got {n_draws!r}")
    if not (isinstance(seed, int) and seed >= 0):
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    evidence = evidence if evidence is not None else load_evidence()
    rt = checked_sources(evidence).radiotherapy
    source_id = benefit_source or rt.default_benefit_source.value
    if source_id not in rt.benefit_sources:
        raise ValueError(f"benefit_source must be one of {', '.join(rt.benefit_sources)}; got {source_id!r}")
    basis = (f"{rt.default_benefit_source.basis}: {rt.default_benefit_source.note.strip()}"
             if benefit_source is None else "user: chosen by the caller")
    trial_figures = _trial_figures(Same(evidence))
    timing = evidence_figure(evidence, rt.cardiac_timing.record, rt.cardiac_timing.value, "late")
    modifiers = [
        ModifierNote(id=m.id, field=m.field, patient_value=_get(patient, m.field), text=m.text, records=m.records,
                     citation=m.citation, location=m.location)
        for m in rt.modifiers
    ]
    common = {"benefit_source": source_id, "benefit_source_basis": basis, "trial_figures": trial_figures,
                  "cardiac_timing": timing, "context_records": list(rt.context), "modifiers": modifiers, "seed": seed,
                  "n_draws": n_draws}

    cardiac = getattr(patient, "cardiac", None)
    needs = [f for f in REQUIRED_CARDIAC if _get(patient, f) is None]
    if needs:
        return RTBalance(
            status="not_computable", needs=needs,
            message=("Not computable: the cardiac harm needs " + ", ".join(needs)
                     + " (mean heart doses from the two plans, and the baseline risk of a major coronary event "
                       "with its horizon). The trial figures are listed unscaled."),
            **common,
        )
    with_imn = float(cardiac.mean_heart_dose_gy_with_imn)
    without_imn = float(cardiac.mean_heart_dose_gy_without_imn)
    if with_imn < without_imn:
        return RTBalance(
            status="not_computable", needs=list(REQUIRED_CARDIAC[:2]),
            message=(f"Not computable: cardiac.mean_heart_dose_gy_with_imn ({with_imn:g} Gy) is below "
                     f"cardiac.mean_heart_dose_gy_without_imn ({without_imn:g} Gy); check the two plans."),
            **common,
        )
    baseline = float(cardiac.baseline_cardiac_risk_percent)
    horizon = float(cardiac.baseline_cardiac_risk_horizon_years)
    delta = with_imn - without_imn

    # child streams of SeedSequence(seed): 0 patient's probability, 1 trial prevalence, 2 hazard ratio, 3 ERR
    warnings: list[str] = []

    # ---- benefit
    src = rt.benefit_sources[source_id]
    tf = next(t for t in trial_figures if t.record_id == source_id)
    control = tf.percent_control.value / 100.0
    hr_value = evidence.get(source_id).values.get("hazard_ratio")
    if hr_value is None:
        raise ValueError(f"benefit source {source_id!r} has no hazard_ratio")
    if hr_value.ci_numbers is None:
        warnings.append(f"{source_id} prints no confidence interval for its hazard ratio: the benefit's own "
                        "uncertainty is not represented.")
    trial_benefit, trial_point, trial_interval = _trial_benefit(Same(evidence), source_id, src.endpoint, control,
                                                                seed, n_draws, level)

    prevalence, prevalence_fig = _trial_prevalence(trial_imln_prevalence, evidence)
    if prevalence is not None and imln_probability is None:
        warnings.append("trial_imln_prevalence was given but no IMLN probability: the benefit is not scaled.")
        prevalence, prevalence_fig = None, None
    benefit_interval: tuple[float, float] | None = None
    if prevalence is not None:
        p_draws = imln_probability.draws(n_draws, seed, 0, 4)
        if prevalence.point <= 0:
            raise ValueError("trial_imln_prevalence must be above 0 to scale by it")
        trial_draws = prevalence.draws(n_draws, seed, 1, 4)
        factor = p_draws / np.maximum(trial_draws, 1e-9)
        factor_point = imln_probability.point / prevalence.point
        benefit = trial_benefit * factor
        benefit_point = trial_point * factor_point
        flo, fhi = _interval(factor, level)
        scaling = Scaling(
            status="scaled", patient_probability=imln_probability, trial_imln_prevalence=prevalence,
            trial_prevalence_figure=prevalence_fig,
            factor=Quantity(point=factor_point, lower=flo, upper=fhi, level=level, unit="ratio", horizon_years=None,
                            description="patient's IMLN probability / trial population's IMLN prevalence"),
            message=(f"Scaled by the patient's IMLN probability {imln_probability.point:.3g} over the trial "
                     f"population's {prevalence.point:.3g} ({prevalence.source})."),
        )
        benefit_text = (f"absolute reduction in {src.endpoint_label} at {src.horizon_years:g} years, scaled by "
                        "the patient's IMLN probability")
    else:
        benefit = trial_benefit
        benefit_point = trial_point
        benefit_interval = trial_interval
        shown = "" if imln_probability is None else f" ({imln_probability.point:.3g})"
        scaling = Scaling(
            status="not_scaled", patient_probability=imln_probability,
            message=("Not scaled: the evidence base holds no prevalence of IMLN metastasis for the trial "
                     "populations, so the trial's average benefit is shown unscaled next to the patient's IMLN "
                     f"probability{shown}. Pass trial_imln_prevalence to scale."),
        )
        benefit_text = (f"absolute reduction in {src.endpoint_label} at {src.horizon_years:g} years in the trial "
                        "population (unscaled)")

    # ---- harm
    err, err_point, err_interval = _excess_relative_risk(Same(evidence), rt.dose_response.record,
                                                        rt.dose_response.value, seed, n_draws, level)
    scale = baseline * delta  # harm = scale × ERR, a non-negative multiple: its percentiles are scale × ERR's
    harm = scale * err
    harm_point = scale * err_point
    harm_interval = (scale * err_interval[0], scale * err_interval[1])

    net = benefit - harm
    net_point = benefit_point - harm_point

    def q(point: float, draws: np.ndarray, hz: float | None, text: str, unit: str = "percentage points (absolute)",
          interval: tuple[float, float] | None = None) -> Quantity:
        lo, hi = interval if interval is not None else _interval(draws, level)
        return Quantity(point=point, lower=lo, upper=hi, level=level, unit=unit, horizon_years=hz, description=text)

    if horizon != src.horizon_years:
        warnings.append(
            f"The harm is over the baseline risk's horizon ({horizon:g} years), the benefit at the trial's "
            f"({src.horizon_years:g} years): the net compares different horizons."
        )
    if horizon <= 10:
        warnings.append(
            f"A horizon of {horizon:g} years misses late cardiac events: the review reports {timing.display} of "
            "cardiac events after 10 years (review-text-cardiac-late)."
        )
    if getattr(patient, "prior_imn_radiotherapy", False):
        warnings.append("The internal mammary chain was already irradiated; this model does not describe "
                        "re-irradiation.")
    share_positive = np.count_nonzero(net > 0) / net.size
    break_even = None
    if prevalence is not None and trial_point > 0:
        break_even = prevalence.point * harm_point / trial_point

    return RTBalance(
        status="computed",
        message=("Computed (model-based estimate)" + ("" if prevalence is not None else
                                                       "; benefit not scaled by the IMLN probability") + "."),
        scaling=scaling,
        benefit=q(benefit_point, benefit, src.horizon_years, benefit_text, interval=benefit_interval),
        harm=q(harm_point, harm, horizon,
               f"excess absolute risk of a major coronary event over {horizon:g} years", interval=harm_interval),
        net=q(net_point, net, None, "benefit − harm (positive favours IMN radiotherapy)"),
        probability_net_positive=share_positive,
        probability_net_positive_mc_se=math.sqrt(share_positive * (1 - share_positive) / n_draws),
        break_even_probability=break_even,
        harm_inputs=HarmInputs(
            baseline_cardiac_risk_percent=baseline, baseline_cardiac_risk_horizon_years=horizon,
            mean_heart_dose_gy_with_imn=with_imn, mean_heart_dose_gy_without_imn=without_imn,
            delta_mean_heart_dose_gy=delta,
            excess_relative_risk_per_gy=evidence_figure(evidence, rt.dose_response.record, rt.dose_response.value,
                                                        "err"),
            distribution="two-piece normal through the printed point and 95% CI (its 2.5/50/97.5th percentiles), "
                         "truncated at 0",
        ),
        warnings=warnings,
        **common,
    )
