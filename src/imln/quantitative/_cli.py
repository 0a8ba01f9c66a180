"""Typer sub-app ``app``: ``measure``, ``batch`` and ``radiomics``.

Mounted by the main CLI; on its own: ``python -m imln.quantitative measure IMAGE MASK --modality mri``.
Input problems print ``error: <file>: <field>: <message>`` and exit with status 2; a batch in
which some cases failed exits with status 1 after writing every table.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from imln.quantitative._errors import QuantitativeError

app = typer.Typer(
    help="Quantitative imaging: measure internal mammary nodes from images and masks (measurement only, no call).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console()
err = Console(stderr=True)


class SplitChoice(StrEnum):
    auto = "auto"
    components = "components"
    labels = "labels"


class ConnectivityChoice(StrEnum):
    face = "face"
    edge = "edge"
    corner = "corner"


JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SplitOpt = Annotated[
    SplitChoice,
    typer.Option("--split", help="Nodes = connected components of a one-label mask, labels of a multi-label mask "
                                 "(auto), or force either."),
]
ConnOpt = Annotated[
    ConnectivityChoice,
    typer.Option("--connectivity", help="Voxels touching by a face (6), edge (18) or corner (26) are one node."),
]


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def _fail(exc: Exception, as_json: bool) -> typer.Exit:
    if as_json:
        payload = exc.to_dict() if isinstance(exc, QuantitativeError) else {"error": "input", "message": str(exc)}
        _print_json(payload)
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


@app.command("measure")
def measure_command(
    image: Annotated[Path, typer.Argument(help="Image: NIfTI/NRRD/MetaImage file, DICOM file or DICOM series folder "
                                               "(for PET/CT and PET/MRI: the PET).")],
    mask: Annotated[Path, typer.Argument(help="Mask: label map (same grid as the image), DICOM-SEG or RTSTRUCT.")],
    modality: Annotated[str, typer.Option("--modality", "-m", help="us, ct, mri, pet_ct, pet_mri or spect_ct.")],
    roi: Annotated[list[str] | None, typer.Option("--roi", help="RTSTRUCT ROI name (repeatable).")] = None,
    label: Annotated[list[int] | None, typer.Option("--label", help="Only these mask labels (repeatable).")] = None,
    split: SplitOpt = SplitChoice.auto,
    connectivity: ConnOpt = ConnectivityChoice.face,
    ribs: Annotated[Path | None, typer.Option("--ribs", help="Rib levels (YAML/JSON: ribs: {1: z_mm, ...}) for "
                                                             "the intercostal space.")] = None,
    side: Annotated[str | None, typer.Option("--side", help="ipsilateral or contralateral (copied to the "
                                                            "finding).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Examination date YYYY-MM-DD (copied to the "
                                                            "finding).")] = None,
    image_is_suv: Annotated[bool, typer.Option("--image-is-suv", help="PET voxels already hold SUVbw (no DICOM "
                                                                      "header conversion).")] = False,
    series_uid: Annotated[str | None, typer.Option("--series-uid", help="Series Instance UID when the image folder "
                                                                        "holds several series.")] = None,
    add_to: Annotated[Path | None, typer.Option("--add-to", help="Patient file: print it with this finding "
                                                                 "appended, ready for `imln assess`.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Measure every node of MASK on IMAGE and print the finding in imln's schema."""
    from imln.quantitative._case import measure_case

    try:
        result = measure_case(
            image, mask, modality=modality, roi=roi or None, labels=label or None, split=split.value,
            connectivity=connectivity.value, rib_levels=ribs, image_is_suv=image_is_suv, side=side, date=date,
            series_uid=series_uid,
        )
    except QuantitativeError as exc:
        raise _fail(exc, as_json) from None
    if add_to is not None:
        _print_patient_with(add_to, result.finding, as_json)
        return
    if as_json:
        _print_json(result.to_dict())
        return
    t = Table(title=f"Nodes in {mask.name} ({result.modality.value})")
    cols = ["node", "label", "short axis mm", "long axis mm", "volume mm³", "max 3-D mm", "slice", "ICS"]
    pet = any(n.suv is not None for n in result.nodes)
    if pet:
        cols += ["SUVmax", "SUVpeak", "SUVmean"]
    for c in cols:
        t.add_column(c, justify="right")
    for n in result.nodes:
        row = [str(n.node_id), escape(n.label_name or str(n.label)), _fmt(n.short_axis_mm), _fmt(n.long_axis_mm),
               _fmt(n.volume_mm3), _fmt(n.max_3d_diameter_mm), str(n.axial_slice_index), _fmt(n.intercostal_space)]
        if pet and n.suv is not None:
            row += [_fmt(n.suv.suv_max, 2), _fmt(n.suv.suv_peak, 2), _fmt(n.suv.suv_mean, 2)]
        t.add_row(*row)
    out.print(t)
    import yaml

    finding = result.finding.model_dump(mode="json", exclude_none=True)
    out.print("[bold]Finding[/] (paste under findings: in a patient file, or use --add-to):")
    out.print(escape(yaml.safe_dump([finding], sort_keys=False, allow_unicode=True)), end="")
    for note in result.notes:
        out.print(f"[dim]• {escape(note)}[/]")


def _print_patient_with(path: Path, finding: Any, as_json: bool) -> None:
    import yaml

    from imln.schema import PatientInputError, load_patient

    try:
        patient = load_patient(path)
        data = patient.model_dump(mode="json", exclude_none=True)
        data["findings"] = [*data.get("findings", []), finding.model_dump(mode="json", exclude_none=True)]
        load_patient(data, name=str(path))  # the result must still be a valid patient
    except PatientInputError as exc:
        raise _fail(exc, as_json) from None
    if as_json:
        _print_json(data)
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@app.command("batch")
def batch_command(
    source: Annotated[Path, typer.Argument(help="Manifest (CSV/TSV/YAML/JSON: case_id,image,mask,modality"
                                                "[,roi,ribs,side,date]) or a folder of cases.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (tables and one JSON per case).")],
    modality: Annotated[str | None, typer.Option("--modality", "-m", help="Modality of every case (needed for a "
                                                                          "folder; overrides the manifest).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-j", min=1, help="Local processes (default: CPU "
                                                                               "count; 1 = serial).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="dask.distributed scheduler address, e.g. "
                                                                      "tcp://10.0.0.5:8786.")] = None,
    radiomics: Annotated[str | None, typer.Option("--radiomics", help="Also extract pyradiomics features: "
                                                                      "'default' or a parameter file.")] = None,
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Skip cases already measured with the same "
                                                                      "inputs and options.")] = True,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    split: SplitOpt = SplitChoice.auto,
    connectivity: ConnOpt = ConnectivityChoice.face,
    as_json: JsonFlag = False,
) -> None:
    """Measure many cases into tables (cases.csv, nodes.csv[, features.csv]); keeps going past bad cases."""
    from imln.quantitative._batch import discover_cases, run_batch

    try:
        cases = discover_cases(source, modality=modality)
        result = run_batch(cases, out_dir, workers=workers, scheduler=scheduler, resume=resume, progress=progress,
                           radiomics=radiomics, split=split.value, connectivity=connectivity.value)
    except QuantitativeError as exc:
        raise _fail(exc, as_json) from None
    if as_json:
        _print_json(result.to_dict())
    else:
        out.print(
            f"{result.total} cases: {result.computed} measured, {result.reused} already done, "
            f"{len(result.failed)} failed · {result.backend} ({result.workers} worker"
            f"{'s' if result.workers != 1 else ''}) · {result.seconds:.1f} s"
            + (f" · {result.cases_per_second:.2f} cases/s" if result.computed else ""),
            soft_wrap=True,
        )
        out.print(f"tables in {escape(str(result.out_dir))}: cases.csv, nodes.csv"
                  + (", features.csv, radiomics_settings.yaml" if radiomics else ""), soft_wrap=True)
        if result.failed:
            t = Table(title="Failed cases")
            t.add_column("case")
            t.add_column("error", overflow="fold")
            for cid, message in result.failed.items():
                t.add_row(escape(cid), escape(message))
            err.print(t)
    if result.failed:
        raise typer.Exit(1)


@app.command("radiomics")
def radiomics_command(
    image: Annotated[Path, typer.Argument(help="Image (any format read by `measure`).")],
    mask: Annotated[Path, typer.Argument(help="Mask on the image grid (label map or DICOM-SEG).")],
    params: Annotated[Path | None, typer.Option("--params", help="pyradiomics parameter file (default: "
                                                                 "pyradiomics' defaults).")] = None,
    label: Annotated[int, typer.Option("--label", help="Mask label to describe.")] = 1,
    feature_class: Annotated[list[str] | None, typer.Option("--class", help="Only this feature class "
                                                                            "(repeatable).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write features.json and "
                                                                     "radiomics_settings.yaml here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """pyradiomics features of one mask label.

    Optional: pip install numpy setuptools wheel versioneer && pip install --no-build-isolation pyradiomics==3.0.1
    """
    from imln.quantitative._radiomics import extract_radiomics, save_radiomics_settings

    try:
        res = extract_radiomics(image, mask, params=params, label=label, feature_classes=feature_class or None)
    except QuantitativeError as exc:
        raise _fail(exc, as_json) from None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "features.json").write_text(json.dumps(res.features, indent=1), encoding="utf-8")
        save_radiomics_settings(out_dir / "radiomics_settings.yaml", res.provenance)
    if as_json:
        _print_json({"features": res.features, "provenance": res.provenance})
        return
    t = Table(title=f"{len(res.features)} features · label {label} · pyradiomics {res.provenance['pyradiomics']}")
    t.add_column("feature")
    t.add_column("value", justify="right")
    for k, v in res.features.items():
        t.add_row(k, f"{v:.6g}")
    out.print(t)
