"""``imln model …``: the modelling workbench on a CSV or Parquet cohort.

Every command reads a table with one row per patient and a binary outcome column,
fits the model given by ``--formula`` (see :mod:`imln.modeling._design` for the
formula language), and prints or writes its result. Resampling commands report
the seed they used; with ``--rng R`` (the default) the bootstrap resamples are the
ones R draws after ``set.seed(seed)``. Input problems exit with status 2 and a
message that names the column and what is allowed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from scipy.special import expit

from imln.modeling._calibrate import calibrate, plot_calibration
from imln.modeling._decision_curve import decision_curve, plot_decision_curve
from imln.modeling._design import (
    ModelingInputError,
    code_outcome,
    complete_cases,
    parse_formula,
)
from imln.modeling._export import CoefficientModel, model_to_dict, to_model_spec
from imln.modeling._external import external_validation, plot_external_calibration
from imln.modeling._fit import LogisticModel
from imln.modeling._nomogram import nomogram, plot_nomogram
from imln.modeling._report import write_report
from imln.modeling._threshold import threshold_report
from imln.modeling._validate import validate

app = typer.Typer(
    name="model",
    help="Modelling workbench: fit, validate, calibrate, nomogram, decision curves, thresholds, external "
         "validation and a TRIPOD-style report, on a CSV/Parquet cohort. Matches R's rms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


class RngChoice(StrEnum):
    R = "R"
    numpy = "numpy"


class MethodChoice(StrEnum):
    boot = "boot"
    crossvalidation = "crossvalidation"


class CIChoice(StrEnum):
    wilson = "wilson"
    clopper_pearson = "clopper-pearson"


Data = Annotated[Path, typer.Argument(help="Cohort table: .csv, .tsv or .parquet, one row per patient.",
                                      exists=True, dir_okay=False, readable=True)]
Outcome = Annotated[str, typer.Option("--outcome", "-y", help="Binary outcome column (e.g. imln_metastasis).")]
Formula = Annotated[str, typer.Option("--formula", "-f",
                                      help="Predictors, e.g. \"rcs(age,4) + cat(size) + grade + log1p(pgr)\".")]
Event = Annotated[str | None, typer.Option("--event", help="Outcome value that counts as the event "
                                                            "(default: 1, true or yes).")]
Penalty = Annotated[float, typer.Option("--penalty", min=0.0, help="Ridge penalty as rms::lrm(penalty=) (0: none).")]
MinEvents = Annotated[int, typer.Option("--min-events", min=1, help="Refuse to fit with fewer events or non-events.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (reported; same seed + --rng R = R's resamples).")]
Rng = Annotated[RngChoice, typer.Option("--rng", help="R: reproduce R's set.seed()/sample(); numpy: numpy's PCG64.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (ModelingInputError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise _fail(str(message)) from None


def read_table(path: Path) -> pd.DataFrame:
    """Read a cohort table; Parquet needs pyarrow."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ModelingInputError(
                f"{path}: reading Parquet needs pyarrow (pip install pyarrow), or give a CSV"
            ) from None
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt", ".tsv"):
        try:
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ModelingInputError(f"{path}: cannot read as {'TSV' if suffix == '.tsv' else 'CSV'} ({exc})") from None
    raise ModelingInputError(f"{path}: unknown table format {suffix!r}; allowed: .csv, .tsv, .parquet")


def _fit(data: Path, outcome: str, formula: str, event: str | None, penalty: float, min_events: int
         ) -> tuple[pd.DataFrame, LogisticModel]:
    table = read_table(data)
    return table, LogisticModel(formula, penalty=penalty, min_events=min_events).fit(table, outcome, event=event)


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _frame_json(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(k): {c: (None if isinstance(v, float) and np.isnan(v) else v) for c, v in row.items()}
            for k, row in df.to_dict(orient="index").items()}


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _rich_table(df: pd.DataFrame, title: str, fmt: str = "{:.4f}") -> Table:
    t = Table(title=title, title_justify="left")
    t.add_column(str(df.index.name or ""), justify="left")
    for c in df.columns:
        t.add_column(str(c), justify="right")

    def cell(v: Any, integer: bool) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "—"
        if integer:
            return str(int(v))
        return fmt.format(v) if isinstance(v, (float, np.floating)) else str(v)

    integer_cols = [pd.api.types.is_integer_dtype(df[c].dtype) for c in df.columns]
    for k in range(len(df)):
        idx = df.index[k]
        label = f"{idx:.3f}" if isinstance(idx, (float, np.floating)) else str(idx)
        t.add_row(label, *[cell(df.iloc[k, j], integer_cols[j]) for j in range(df.shape[1])])
    return t


def _save_figure(draw: Callable[[Any], Any], path: Path, size: tuple[float, float]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ModelingInputError(f"{path}: figure format must be .png, .svg or .pdf")
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    draw(fig.add_subplot(1, 1, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=150)


# --------------------------------------------------------------------------- commands


@app.command("fit")
def fit_command(
    data: Data, outcome: Outcome, formula: Formula, event: Event = None, penalty: Penalty = 0.0,
    min_events: MinEvents = 10, as_json: Json = False,
    export_dict: Annotated[Path | None, typer.Option(
        "--export-dict", help="Write the fitted model (terms, knots, coefficients, covariance) as YAML/JSON.")] = None,
    export_spec: Annotated[Path | None, typer.Option(
        "--export-spec",
        help="Write a risk-registry model file (imln models add); linear/categorical terms only.")] = None,
    model_id: Annotated[str | None, typer.Option("--model-id", help="Registry id for --export-spec.")] = None,
    ascertainment: Annotated[str, typer.Option(help="For --export-spec: pathological_dissection, im_sln_biopsy, "
                                                    "imaging or mixed.")] = "mixed",
    population: Annotated[str, typer.Option(help="For --export-spec: the intended population.")] = "",
    feature: Annotated[list[str] | None, typer.Option(
        "--feature", help="For --export-spec: COLUMN=FEATURE mapping to imln.risk.FEATURES (repeatable).")] = None,
) -> None:
    """Fit a logistic model (as rms::lrm) and print its coefficients and statistics."""
    with _errors():
        _, model = _fit(data, outcome, formula, event, penalty, min_events)
        summary = model.summary()
        if export_dict is not None:
            _write_structured(export_dict, model_to_dict(model, name=f"{outcome} model from {data.name}"))
        if export_spec is not None:
            if not model_id:
                raise ModelingInputError("--export-spec needs --model-id (lower case, e.g. 'my-cohort-imln')")
            mapping = {}
            for item in feature or []:
                if "=" not in item:
                    raise ModelingInputError(f"--feature {item!r}: write COLUMN=FEATURE")
                k, v = item.split("=", 1)
                mapping[k.strip()] = v.strip()
            spec = to_model_spec(model, id=model_id, title=f"{outcome} model ({data.name})",
                                 outcome=f"{outcome} = {model.event_}", ascertainment=ascertainment,
                                 intended_population=population or f"patients like those in {data.name}",
                                 feature_names=mapping, cohort=data.name)
            _write_structured(export_spec, spec.model_dump(mode="json", by_alias=True, exclude_none=True))
    if as_json:
        _print_json({"description": model.describe(), "complete_cases": {
            "n_rows": model.complete_cases_.n_rows, "n_used": model.complete_cases_.n_used,
            "missing_by_column": model.complete_cases_.missing_by_column},
            "statistics": model.stats_.as_dict(), "coefficients": _frame_json(summary)})
        return
    out.print(escape(model.describe()))
    cols = ["coef", "se", "z", "p", "ci_lower", "ci_upper", "odds_ratio"]
    out.print(_rich_table(summary[cols].rename_axis("term"), "Coefficients (95% Wald CIs)"))
    if export_dict:
        out.print(f"model written to {escape(str(export_dict))}")
    if export_spec:
        out.print(f"registry model file written to {escape(str(export_spec))} (add it with: imln models add)")


def _write_structured(path: Path, payload: dict[str, Any]) -> None:
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n", encoding="utf-8")
    else:
        import yaml

        path.write_text(yaml.safe_dump(json.loads(json.dumps(payload, default=_json_default)), sort_keys=False,
                                       allow_unicode=True), encoding="utf-8")


@app.command("validate")
def validate_command(
    data: Data, outcome: Outcome, formula: Formula, event: Event = None, penalty: Penalty = 0.0,
    min_events: MinEvents = 10,
    B: Annotated[int, typer.Option("--B", "-B", min=1,
                                   help="Bootstrap resamples (or folds with crossvalidation).")] = 200,
    method: Annotated[MethodChoice, typer.Option(help="boot or crossvalidation.")] = MethodChoice.boot,
    seed: Seed = 1, rng: Rng = RngChoice.R, as_json: Json = False,
) -> None:
    """Optimism-corrected indexes exactly as rms::validate (Dxy, R2, slope, Emax, D, U, Q, B, g, gp)."""
    with _errors():
        _, model = _fit(data, outcome, formula, event, penalty, min_events)
        with _progress("bootstrap" if method == MethodChoice.boot else "folds", not as_json) as cb:
            result = validate(model, B=B, method=method.value, seed=seed, rng=rng.value, progress=cb)
    if as_json:
        _print_json({"description": result.describe(), "seed": result.seed, "rng": result.rng,
                     "failed_resamples": list(result.failed_resamples), "elapsed_seconds": result.elapsed_seconds,
                     "corrected_c_index": result.corrected_c_index, "table": _frame_json(result.table)})
        return
    out.print(escape(model.describe()))
    out.print(_rich_table(result.table.rename_axis("index"), escape(result.describe())))
    out.print(f"corrected C-index {result.corrected_c_index:.4f}; {result.elapsed_seconds:.2f} s")


@app.command("calibrate")
def calibrate_command(
    data: Data, outcome: Outcome, formula: Formula, event: Event = None, penalty: Penalty = 0.0,
    min_events: MinEvents = 10,
    B: Annotated[int, typer.Option("--B", "-B", min=1, help="Bootstrap resamples.")] = 200,
    seed: Seed = 1, rng: Rng = RngChoice.R,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the calibration plot (.png/.svg/.pdf).")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the 50-point curve table as CSV.")] = None,
    as_json: Json = False,
) -> None:
    """Bootstrap bias-corrected calibration curve (rms::calibrate, lowess) and its plot."""
    with _errors():
        _, model = _fit(data, outcome, formula, event, penalty, min_events)
        with _progress("bootstrap", not as_json) as cb:
            curve = calibrate(model, B=B, seed=seed, rng=rng.value, progress=cb)
        if plot:
            _save_figure(lambda ax: plot_calibration(curve, ax), plot, (5.5, 5))
        if csv:
            curve.table.to_csv(csv, index=False)
    if as_json:
        _print_json({"description": curve.describe(), "seed": curve.seed, "rng": curve.rng,
                     "mean_absolute_error": curve.mean_absolute_error, "mean_squared_error": curve.mean_squared_error,
                     "quantile_90_absolute_error": curve.quantile_90_absolute_error,
                     "curve": curve.table.to_dict(orient="list")})
        return
    out.print(escape(curve.describe()))
    shown = curve.table.iloc[::7][["predy", "calibrated.orig", "calibrated.corrected", "n"]].set_index("predy")
    out.print(_rich_table(shown, "Calibration curve (every 7th of 50 points)", "{:.3f}"))
    if plot:
        out.print(f"plot written to {escape(str(plot))}")


@app.command("nomogram")
def nomogram_command(
    data: Data, outcome: Outcome, formula: Formula, event: Event = None, penalty: Penalty = 0.0,
    min_events: MinEvents = 10,
    output: Annotated[Path, typer.Option("--out", "-o", help="Figure file (.png/.svg/.pdf).")] = Path("nomogram.png"),
    maxscale: Annotated[float, typer.Option(min=1.0, help="Points of the widest predictor (rms: 100).")] = 100.0,
    as_json: Json = False,
) -> None:
    """Draw a points nomogram of the fitted model (as rms::nomogram)."""
    with _errors():
        _, model = _fit(data, outcome, formula, event, penalty, min_events)
        nomo = nomogram(model, maxscale=maxscale)
        _save_figure(lambda ax: plot_nomogram(nomo, ax), output, (9, 0.55 * (len(nomo.axes) + 4) + 0.6))
    if as_json:
        _print_json({"points": nomo.as_frame().to_dict(orient="records"), "scale": nomo.scale,
                     "lp_at_zero_points": nomo.lp_at_zero_points, "figure": str(output)})
        return
    out.print(f"nomogram written to {escape(str(output))} ({len(nomo.axes)} predictors; "
              f"{nomo.scale:.3f} points per unit log-odds)")


@app.command("dca")
def dca_command(
    data: Data, outcome: Outcome,
    formula: Annotated[list[str] | None, typer.Option(
        "--formula", "-f", help="A model to fit and evaluate (repeatable); NAME=FORMULA names it.")] = None,
    predictions: Annotated[list[str] | None, typer.Option(
        "--predictions", help="A column already holding predicted probabilities (repeatable).")] = None,
    event: Event = None, penalty: Penalty = 0.0, min_events: MinEvents = 10,
    start: Annotated[float, typer.Option(min=0.0, max=0.99)] = 0.0,
    stop: Annotated[float, typer.Option(min=0.0, max=0.99)] = 0.99,
    step: Annotated[float, typer.Option(min=0.001, max=0.5)] = 0.01,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the decision curve (.png/.svg/.pdf).")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the full net-benefit table as CSV.")] = None,
    as_json: Json = False,
) -> None:
    """Net benefit against treat-all and treat-none, for one or several models (as dcurves)."""
    with _errors():
        if not formula and not predictions:
            raise ModelingInputError("give at least one --formula or --predictions column")
        table = read_table(data)
        risks: dict[str, np.ndarray] = {}
        y = None
        columns = [c for c in predictions or []]
        needed = [outcome, *columns]
        fitted = []
        for k, item in enumerate(formula or []):
            named = "=" in item and "(" not in item.split("=", 1)[0]
            name, f = item.split("=", 1) if named else (f"model {k + 1}", item)
            fitted.append((name.strip(), LogisticModel(f, penalty=penalty, min_events=min_events)))
        predictor_columns = [t.column for _, m in fitted for t in parse_formula(m.formula)]
        used, report = complete_cases(table, list(dict.fromkeys(needed + predictor_columns)))
        y, _ = code_outcome(used[outcome], outcome, event)
        for name, m in fitted:
            m.fit(used, outcome, event=event)
            risks[name] = m.predict_proba(used)
        for c in columns:
            risks[c] = pd.to_numeric(used[c], errors="coerce").to_numpy(dtype=float)
        thresholds = np.round(np.arange(start, stop + step / 2, step), 6)
        curves = decision_curve(y, risks, thresholds=thresholds)
        if plot:
            _save_figure(lambda ax: plot_decision_curve(curves, ax), plot, (6.5, 4.5))
        if csv:
            curves.to_csv(csv, index=False)
    if as_json:
        _print_json({"n": int(y.size), "rows_excluded": report.n_excluded, "curves": curves.to_dict(orient="records")})
        return
    out.print(escape(f"{y.size} patients, prevalence {y.mean():.3f} ({report.describe()})"))
    picks = [t for t in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5) if np.isclose(thresholds, t).any()]
    wide = curves[np.isclose(curves["threshold"].to_numpy()[:, None], picks).any(axis=1)]
    pivot = wide.pivot(index="threshold", columns="model", values="net_benefit")
    out.print(_rich_table(pivot, "Net benefit"))
    if plot:
        out.print(f"plot written to {escape(str(plot))}")


@app.command("threshold")
def threshold_command(
    data: Data, outcome: Outcome,
    threshold: Annotated[float, typer.Option("--threshold", "-t", help="Risk below this = low risk (spared).")],
    formula: Annotated[str | None, typer.Option("--formula", "-f", help="Model to fit (or use --predictions).")] = None,
    predictions: Annotated[str | None, typer.Option("--predictions", help="Column of predicted probabilities.")] = None,
    event: Event = None, penalty: Penalty = 0.0, min_events: MinEvents = 10,
    ci: Annotated[CIChoice, typer.Option("--ci", help="Confidence interval method.")] = CIChoice.wilson,
    level: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
    as_json: Json = False,
) -> None:
    """At a risk threshold: proportion spared, false-negative rate, sensitivity, specificity, PPV, NPV."""
    with _errors():
        if (formula is None) == (predictions is None):
            raise ModelingInputError("give exactly one of --formula or --predictions")
        table = read_table(data)
        if formula is not None:
            model = LogisticModel(formula, penalty=penalty, min_events=min_events).fit(table, outcome, event=event)
            y, risk = model.y_, expit(model.fitted_linear_predictor_)
        else:
            used, _ = complete_cases(table, [outcome, predictions])
            y, _ = code_outcome(used[outcome], outcome, event)
            risk = pd.to_numeric(used[predictions], errors="coerce").to_numpy(dtype=float)
        report = threshold_report(y, risk, threshold, ci_method=ci.value, level=level)
    if as_json:
        _print_json({"threshold": threshold, "ci_method": report.ci_method, "level": report.level,
                     "counts": {"tp": report.true_positives, "fp": report.false_positives,
                                "fn": report.false_negatives, "tn": report.true_negatives},
                     "measures": _frame_json(report.as_frame())})
        return
    out.print(escape(report.describe()))


@app.command("external")
def external_command(
    data: Data, outcome: Outcome,
    model: Annotated[str, typer.Option("--model", "-m", help="Model to validate: an exported model file "
                                                             "(fit --export-dict), a registry model file, or a "
                                                             "registered model id.")],
    event: Event = None,
    setting: Annotated[str | None, typer.Option(help="Registry models: which setting's intercept.")] = None,
    groups: Annotated[int, typer.Option(min=2, max=50, help="Risk groups in the calibration plot.")] = 10,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the calibration plot (.png/.svg/.pdf).")] = None,
    as_json: Json = False,
) -> None:
    """Apply a finished model to a new cohort: O/E, calibration-in-the-large, slope, C-index, plot."""
    with _errors():
        table = read_table(data)
        target = _load_model(model)
        result = external_validation(target, table, outcome, event=event, groups=groups, setting=setting)
        if plot:
            _save_figure(lambda ax: plot_external_calibration(result, ax), plot, (5.5, 5))
    if as_json:
        _print_json(result.as_dict() | {"groups": result.groups.to_dict(orient="records")})
        return
    out.print(escape(result.describe()))
    if plot:
        out.print(f"plot written to {escape(str(plot))}")


def _load_model(reference: str) -> Any:
    path = Path(reference)
    if path.exists():
        text = path.read_text(encoding="utf-8")
        import yaml

        try:
            payload = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
            raise ModelingInputError(f"{path}: not valid {kind} ({exc})") from None
        if isinstance(payload, dict) and payload.get("format") == "imln.modeling/logistic-model":
            return CoefficientModel.from_dict(payload, name=path.stem)
        from imln.risk import load_model_spec

        return load_model_spec(path)
    from imln.risk import get_model

    return get_model(reference)


@app.command("report")
def report_command(
    data: Data, outcome: Outcome, formula: Formula, event: Event = None, penalty: Penalty = 0.0,
    min_events: MinEvents = 10,
    output: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("model-report.html"),
    B: Annotated[int, typer.Option("--B", "-B", min=1, help="Bootstrap resamples for validate and calibrate.")] = 200,
    seed: Seed = 1, rng: Rng = RngChoice.R,
    threshold: Annotated[float | None, typer.Option("--threshold", "-t",
                                                    help="Also report this risk threshold.")] = None,
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
) -> None:
    """A self-contained TRIPOD-style HTML report: model, validation, calibration, nomogram, decision curve."""
    with _errors():
        _, model = _fit(data, outcome, formula, event, penalty, min_events)
        with _progress("validate", True) as cb:
            v = validate(model, B=B, seed=seed, rng=rng.value, progress=cb)
        with _progress("calibrate", True) as cb:
            c = calibrate(model, B=B, seed=seed, rng=rng.value, progress=cb)
        risk = expit(model.fitted_linear_predictor_)
        dc = decision_curve(model.y_, {"model": risk})
        tr = threshold_report(model.y_, risk, threshold) if threshold is not None else None
        write_report(output, model, validation=v, calibration=c, nomogram=nomogram(model), decision_curves=dc,
                     threshold=tr, data_source=data.name,
                     **({"title": title} if title else {}))
    out.print(f"report written to {escape(str(output))} (seed {seed}, B={B}, rng={rng.value})")
