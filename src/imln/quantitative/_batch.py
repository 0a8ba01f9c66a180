"""Many cases → tables: local processes by default, a Dask cluster when given, resumable, fault tolerant.

Input is a **manifest** (CSV/TSV, YAML or JSON list) with columns ``case_id, image, mask,
modality`` and optionally ``roi, ribs, side, date`` (paths relative to the manifest), or a
**folder** where each sub-folder is a case holding ``image*`` and ``mask*``/``label*``/
``seg*``/``rtstruct*`` (a file or a DICOM folder), or where files are paired as
``<case>_image.<ext>`` + ``<case>_mask.<ext>`` (or ``_label``).

Output folder::

    cases/<case_id>.json   one per case, written as soon as it finishes (status ok/error)
    cases.csv              one row per case: status, finding, error, seconds
    nodes.csv              one row per node: every measurement
    features.csv           one row per node: radiomic features (when asked for)
    radiomics_settings.yaml  effective pyradiomics settings and versions (when asked for)
    batch.json             summary of the last run

**Resuming.** A case is skipped when ``cases/<case_id>.json`` records success with the same
fingerprint: the case's fields, the size and modification time of every input file, the
measurement options, the radiomics settings and imln's version. Failed cases are retried.

**Faults.** An error in one case is recorded in its JSON and in ``cases.csv`` and the run
goes on. A worker process that dies (a crash in a native library) is replaced; the cases it
held are re-run one at a time in a fresh process, so only the case that kills a process is
marked failed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from imln.quantitative._errors import MissingDependencyError, QuantitativeError

__all__ = ["MANIFEST_COLUMNS", "BatchResult", "Case", "discover_cases", "read_manifest", "run_batch"]

#: Manifest columns: required first, then optional.
MANIFEST_COLUMNS = ("case_id", "image", "mask", "modality", "roi", "ribs", "side", "date")
_REQUIRED = ("case_id", "image", "mask", "modality")
_IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm")


@dataclass(frozen=True)
class Case:
    """One image/mask pair to measure."""

    case_id: str
    image: str
    mask: str
    modality: str
    roi: str | None = None
    ribs: str | None = None
    side: str | None = None
    date: str | None = None


@dataclass
class BatchResult:
    """What a batch run did; ``failed`` maps case id → error message."""

    out_dir: Path
    total: int
    computed: int
    reused: int
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    backend: str = "serial"
    workers: int = 1

    @property
    def succeeded(self) -> int:
        return self.total - len(self.failed)

    @property
    def cases_per_second(self) -> float:
        """Cases computed (not reused) per wall-clock second."""
        return self.computed / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        d["succeeded"] = self.succeeded
        d["cases_per_second"] = self.cases_per_second
        return d


# --------------------------------------------------------------------------- inputs


def _safe_id(case_id: str, where: str) -> str:
    cid = str(case_id).strip()
    if not cid or any(c in cid for c in '/\\:*?"<>|') or cid in (".", ".."):
        raise QuantitativeError(f"case_id {case_id!r} is empty or holds a character not allowed in a file name",
                                source=where, field="case_id")
    return cid


def read_manifest(path: str | Path) -> list[Case]:
    """Cases from a CSV/TSV/YAML/JSON manifest; relative paths are taken from the manifest's folder."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise QuantitativeError(f"cannot read the manifest: {exc.strerror}", source=p) from None
    suffix = p.suffix.lower()
    rows: list[Mapping[str, Any]]
    if suffix in (".csv", ".tsv", ".txt"):
        dialect = "excel-tab" if suffix == ".tsv" else "excel"
        reader = csv.DictReader(text.splitlines(), dialect=dialect)
        rows = list(reader)
        header = reader.fieldnames or []
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise QuantitativeError(f"the manifest lacks column{'s' if len(missing) > 1 else ''} "
                                    f"{', '.join(missing)} (columns: {', '.join(MANIFEST_COLUMNS)})",
                                    source=p, field=missing[0])
    elif suffix in (".yaml", ".yml", ".json"):
        import yaml

        try:
            data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except Exception as exc:
            raise QuantitativeError(f"the manifest cannot be parsed: {exc}", source=p) from None
        if isinstance(data, Mapping) and "cases" in data:
            data = data["cases"]
        if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
            raise QuantitativeError("a YAML/JSON manifest must be a list of cases (or {cases: [...]})", source=p)
        rows = data
    else:
        raise QuantitativeError(f"unknown manifest format {suffix!r}; use .csv, .tsv, .yaml or .json", source=p)
    base = p.parent
    cases: list[Case] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2 if suffix in (".csv", ".tsv", ".txt") else 1):
        where = f"{p} ({'line' if suffix in ('.csv', '.tsv', '.txt') else 'case'} {n})"
        unknown = [k for k in row if k not in MANIFEST_COLUMNS]
        if unknown:
            raise QuantitativeError(f"unknown column {unknown[0]!r} (columns: {', '.join(MANIFEST_COLUMNS)})",
                                    source=where, field=str(unknown[0]))
        values = {k: (None if row.get(k) in (None, "") else str(row.get(k)).strip()) for k in MANIFEST_COLUMNS}
        for k in _REQUIRED:
            if not values[k]:
                raise QuantitativeError(f"{k} is empty", source=where, field=k)
        cid = _safe_id(values["case_id"], where)  # type: ignore[arg-type]
        if cid in seen:
            raise QuantitativeError(f"case_id {cid!r} appears twice", source=where, field="case_id")
        seen.add(cid)
        for k in ("image", "mask", "ribs"):
            if values[k] is not None and not Path(values[k]).is_absolute():  # type: ignore[arg-type]
                values[k] = str(base / values[k])  # type: ignore[operator]
        cases.append(Case(**{**values, "case_id": cid}))  # type: ignore[arg-type]
    if not cases:
        raise QuantitativeError("the manifest lists no case", source=p)
    return cases


def _pick(entries: Iterable[Path], prefixes: Sequence[str]) -> Path | None:
    found = [e for e in entries if e.name.lower().startswith(prefixes)]
    return found[0] if len(found) == 1 else None


def discover_cases(path: str | Path, *, modality: str | None = None) -> list[Case]:
    """Cases from a manifest file, or from a folder laid out as described in the module docstring."""
    p = Path(path)
    if not p.exists():
        raise QuantitativeError("no such file or folder", source=p)
    if p.is_file():
        cases = read_manifest(p)
        if modality is not None:
            cases = [Case(**{**asdict(c), "modality": modality}) for c in cases]
        return cases
    if modality is None:
        raise QuantitativeError("a folder of cases needs the modality (e.g. --modality mri)", source=p,
                                field="modality")
    cases: list[Case] = []
    subdirs = sorted(d for d in p.iterdir() if d.is_dir())
    for d in subdirs:
        entries = sorted(d.iterdir())
        image = _pick(entries, ("image", "img"))
        mask = _pick(entries, ("mask", "label", "seg", "rtstruct"))
        if image is None or mask is None:
            continue
        cases.append(Case(_safe_id(d.name, str(d)), str(image), str(mask), modality))
    flat: dict[str, dict[str, Path]] = {}
    for f in sorted(x for x in p.iterdir() if x.is_file()):
        name = f.name.lower()
        if not name.endswith(_IMAGE_SUFFIXES):
            continue
        stem = name
        for s in _IMAGE_SUFFIXES:
            if stem.endswith(s):
                stem = f.name[: len(f.name) - len(s)]
                break
        for role, tags in (("image", ("_image",)), ("mask", ("_mask", "_label", "_seg"))):
            for tag in tags:
                if stem.lower().endswith(tag):
                    flat.setdefault(stem[: -len(tag)], {})[role] = f
    for cid, pair in sorted(flat.items()):
        if "image" in pair and "mask" in pair:
            cases.append(Case(_safe_id(cid, str(p)), str(pair["image"]), str(pair["mask"]), modality))
    if not cases:
        raise QuantitativeError(
            "holds no case: expected sub-folders with image* and mask*/label*/seg*/rtstruct* entries, or "
            "<case>_image.<ext> + <case>_mask.<ext> pairs",
            source=p,
        )
    ids = [c.case_id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise QuantitativeError(f"case ids found twice: {', '.join(sorted(dup))}", source=p, field="case_id")
    return cases


# --------------------------------------------------------------------------- one case (runs in workers)


def _file_stamp(path: str | None) -> Any:
    if path is None:
        return None
    p = Path(path)
    try:
        if p.is_dir():
            return sorted(
                (str(f.relative_to(p)), f.stat().st_size, f.stat().st_mtime_ns) for f in p.rglob("*") if f.is_file()
            )
        st = p.stat()
        return [st.st_size, st.st_mtime_ns]
    except OSError:
        return "missing"


def fingerprint(case: Case, options: Mapping[str, Any]) -> str:
    """Hash of everything a case's result depends on (inputs' sizes and times, options, versions)."""
    from imln import __version__

    payload = {
        "case": asdict(case),
        "stamps": {k: _file_stamp(getattr(case, k)) for k in ("image", "mask", "ribs")},
        "options": options,
        "imln": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _measure_one(case: Case, options: Mapping[str, Any]) -> dict[str, Any]:
    from imln.quantitative._case import measure_case

    result = measure_case(
        case.image,
        case.mask,
        modality=case.modality,
        roi=case.roi,
        rib_levels=case.ribs,
        side=case.side,
        date=case.date,
        split=options.get("split", "auto"),
        connectivity=options.get("connectivity", "face"),
        labels=options.get("labels"),
        image_is_suv=bool(options.get("image_is_suv", False)),
    )
    out = result.to_dict()
    radiomics = options.get("radiomics")
    if radiomics is not None:
        out["radiomics"] = _node_features(case, result.nodes, radiomics, options)
    return out


def _node_features(case: Case, nodes: Sequence[Any], params: Any, options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Radiomic features per node: each node becomes label 1 of its own mask."""
    import numpy as np

    from imln.quantitative._io import Mask, read_image, read_mask
    from imln.quantitative._measure import _nodes
    from imln.quantitative._radiomics import extract_radiomics

    image = read_image(case.image)
    mask = read_mask(case.mask, image, roi=case.roi)
    parts = _nodes(mask, options.get("labels"), options.get("split", "auto"), options.get("connectivity", "face"))
    # same order as measure_nodes: most superior centroid first
    centroids = []
    for _, box, node in parts:
        idx = np.argwhere(node)[:, ::-1] + np.array([box[2].start, box[1].start, box[0].start])
        centroids.append(float(image.index_to_physical(idx.mean(axis=0))[2]))
    order = sorted(range(len(parts)), key=lambda i: (-centroids[i], parts[i][0]))
    rows = []
    for node_id, i in enumerate(order, start=1):
        _, box, node = parts[i]
        full = np.zeros(mask.array.shape, dtype=np.uint8)
        full[box] = node
        single = Mask(full, mask.spacing, mask.origin, mask.direction, source=mask.source)
        res = extract_radiomics(image, single, params=None if params == "default" else params, label=1)
        rows.append({"node_id": node_id, **res.features})
    return rows


def _process_case(case_fields: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """Worker entry point: never raises; returns ``{"status": "ok"|"error", ...}``."""
    case = Case(**case_fields)
    start = time.perf_counter()
    if options.get("itk_threads"):
        # one case per process already uses every core: keep ITK from starting a thread per core as well
        import SimpleITK as sitk

        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(int(options["itk_threads"]))
    marker = Path(options["running_dir"]) / f"{case.case_id}.running" if options.get("running_dir") else None
    if marker is not None:
        marker.touch()
    try:
        out = _measure_one(case, options)
        status: dict[str, Any] = {"status": "ok", **out}
    except QuantitativeError as exc:
        status = {"status": "error", "error": exc.to_dict()}
    except Exception as exc:  # an unexpected failure must not stop the batch
        status = {
            "status": "error",
            "error": {"error": "unexpected", "source": case.image, "field": None,
                      "message": f"{type(exc).__name__}: {exc}"},
            "traceback": traceback.format_exc(),
        }
    status["seconds"] = time.perf_counter() - start
    status["case_id"] = case.case_id
    if marker is not None:
        marker.unlink(missing_ok=True)
    return status


# --------------------------------------------------------------------------- tables


_NODE_VECTORS = {
    "centroid_mm": ("centroid_x_mm", "centroid_y_mm", "centroid_z_mm"),
    "principal_axes_mm": ("principal_axis_1_mm", "principal_axis_2_mm", "principal_axis_3_mm"),
    "principal_axes_centres_lambda": ("centres_lambda_1_mm2", "centres_lambda_2_mm2", "centres_lambda_3_mm2"),
}
_ENDPOINTS = ("long_axis_endpoints_mm", "short_axis_endpoints_mm")


def _flat_node(node: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NODE_VECTORS:
            row.update(zip(_NODE_VECTORS[key], value))
        elif key in _ENDPOINTS:
            stem = key.replace("_endpoints_mm", "")
            for e, point in enumerate(value, start=1):
                for axis, v in zip("xyz", point):
                    row[f"{stem}_end{e}_{axis}_mm"] = v
        else:
            row[key] = value
    return row


def _write_csv(path: Path, rows: list[dict[str, Any]], first: Sequence[str] = ()) -> None:
    columns: list[str] = list(first)
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    tmp.replace(path)


def _atomic_json(path: Path, payload: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def _write_tables(out: Path, cases: Sequence[Case]) -> None:
    case_rows, node_rows, feature_rows = [], [], []
    for c in cases:
        f = out / "cases" / f"{c.case_id}.json"
        try:
            rec = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            case_rows.append({"case_id": c.case_id, "status": "not run"})
            continue
        row: dict[str, Any] = {"case_id": c.case_id, "status": rec.get("status"), "seconds": rec.get("seconds")}
        if rec.get("status") == "ok":
            finding = (rec.get("findings") or [{}])[0]
            row.update({f"finding_{k}": v for k, v in finding.items()})
            for node in rec.get("nodes", []):
                node_rows.append({"case_id": c.case_id, **_flat_node(node)})
            for feat in rec.get("radiomics") or []:
                feature_rows.append({"case_id": c.case_id, **feat})
        else:
            err = rec.get("error") or {}
            row.update({"error": err.get("error"), "error_field": err.get("field"),
                        "error_source": err.get("source"), "error_message": err.get("message")})
        row.update({"image": c.image, "mask": c.mask, "modality": c.modality})
        case_rows.append(row)
    _write_csv(out / "cases.csv", case_rows, first=("case_id", "status"))
    _write_csv(out / "nodes.csv", node_rows, first=("case_id", "node_id"))
    if feature_rows:
        _write_csv(out / "features.csv", feature_rows, first=("case_id", "node_id"))


# --------------------------------------------------------------------------- runners


def _serial(todo: list[Case], options: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for c in todo:
        yield _process_case(asdict(c), options)


def _crashed(case: Case) -> dict[str, Any]:
    return {
        "status": "error",
        "case_id": case.case_id,
        "seconds": None,
        "error": {"error": "worker_crashed", "source": case.image, "field": None,
                  "message": "the worker process died while measuring this case (a crash in a native library, "
                             "or out of memory); run it alone to see why"},
    }


def _isolated(case: Case, options: Mapping[str, Any]) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1) as ex:
        try:
            return ex.submit(_process_case, asdict(case), options).result()
        except BrokenProcessPool:
            return _crashed(case)


def _local(todo: list[Case], options: Mapping[str, Any], workers: int) -> Iterable[dict[str, Any]]:
    """Cases on a local process pool; survives worker deaths (see the module docstring)."""
    running = Path(options["running_dir"])
    pending = list(todo)
    while pending:
        suspects: list[Case] = []
        requeue: list[Case] = []
        ex = ProcessPoolExecutor(max_workers=workers)
        try:
            futures = {ex.submit(_process_case, asdict(c), options): c for c in pending}
            pending = []
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        yield fut.result()
                    except BrokenProcessPool:
                        c = futures[fut]
                        marker = running / f"{c.case_id}.running"
                        (suspects if marker.exists() else requeue).append(c)
                        marker.unlink(missing_ok=True)
        finally:
            ex.shutdown(wait=True, cancel_futures=True)
        # cases that were running when a worker died are re-run alone: the one that kills its process
        # again is the culprit; cases that had not started go back to a fresh pool.
        for c in suspects:
            yield _isolated(c, options)
            (running / f"{c.case_id}.running").unlink(missing_ok=True)
        pending = requeue


def _connect(scheduler: Any, timeout_s: float) -> tuple[Any, bool]:
    """A dask.distributed ``Client`` for ``scheduler`` (address or Client) and whether it is ours to close."""
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError(
            "a scheduler address was given but dask.distributed is not installed (pip install 'dask[distributed]')",
            field="scheduler",
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout=f"{timeout_s}s"), True
    except (OSError, ValueError) as exc:
        raise QuantitativeError(f"cannot connect to the Dask scheduler {scheduler!r} within {timeout_s:g} s: {exc}",
                                field="scheduler") from None


def _dask(todo: list[Case], options: Mapping[str, Any], client: Any) -> Iterable[dict[str, Any]]:
    from distributed import as_completed

    futures = {
        client.submit(_process_case, asdict(c), dict(options), key=f"imln-measure-{c.case_id}-{time.time_ns()}",
                      pure=False): c
        for c in todo
    }
    for fut in as_completed(futures):
        case = futures[fut]
        try:
            yield fut.result()
        except Exception as exc:  # KilledWorker and the like: the case, not the batch, fails
            yield {
                "status": "error",
                "case_id": case.case_id,
                "seconds": None,
                "error": {"error": "dask", "source": case.image, "field": None,
                          "message": f"{type(exc).__name__}: {exc}"},
            }


def run_batch(
    cases: Sequence[Case],
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    resume: bool = True,
    progress: bool = True,
    radiomics: Mapping[str, Any] | str | Path | None = None,
    split: str = "auto",
    connectivity: str = "face",
    labels: Sequence[int] | None = None,
    image_is_suv: bool = False,
    scheduler_timeout_s: float = 10.0,
) -> BatchResult:
    """Measure ``cases`` into ``out_dir`` (layout in the module docstring).

    ``workers``: local processes (default: CPU count; 1 = in this process). ``scheduler``:
    a dask.distributed scheduler address (``"tcp://host:8786"``) or ``Client`` — then the
    cases run on that cluster instead. ``radiomics``: ``"default"`` (pyradiomics' defaults),
    a parameter mapping or file; features per node go to ``features.csv`` and the
    effective settings to ``radiomics_settings.yaml``.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    out = Path(out_dir)
    (out / "cases").mkdir(parents=True, exist_ok=True)
    ids = [c.case_id for c in cases]
    if len(set(ids)) != len(ids):
        raise QuantitativeError("case ids must be unique", field="case_id")
    options: dict[str, Any] = {
        "split": split,
        "connectivity": connectivity,
        "labels": list(labels) if labels is not None else None,
        "image_is_suv": image_is_suv,
        "radiomics": None,
    }
    if radiomics is not None:
        from imln.quantitative._radiomics import (
            load_radiomics_params,
            radiomics_provenance,
            save_radiomics_settings,
        )

        params = None if radiomics == "default" else load_radiomics_params(radiomics)
        provenance = radiomics_provenance(params)
        save_radiomics_settings(out / "radiomics_settings.yaml", provenance)
        options["radiomics"] = "default" if params is None else params
        options["radiomics_provenance"] = provenance
    todo: list[Case] = []
    reused = 0
    for c in cases:
        fp = fingerprint(c, options)
        rec_path = out / "cases" / f"{c.case_id}.json"
        if resume and rec_path.exists():
            try:
                rec = json.loads(rec_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                rec = {}
            if rec.get("status") == "ok" and rec.get("fingerprint") == fp:
                reused += 1
                continue
        todo.append(c)
    fps = {c.case_id: fingerprint(c, options) for c in todo}
    worker_options = {**options, "running_dir": str(out / "cases"), "itk_threads": 1}
    n_workers = max(1, int(workers if workers is not None else (os.cpu_count() or 1)))
    client, own_client = (None, False)
    if scheduler is not None:
        client, own_client = _connect(scheduler, scheduler_timeout_s)
        backend, stream = "dask", _dask(todo, {**options, "itk_threads": 1}, client)
    elif n_workers == 1 or len(todo) <= 1:
        backend, stream = "serial", _serial(todo, options)
        n_workers = 1
    else:
        backend, stream = "processes", _local(todo, worker_options, n_workers)
    failed: dict[str, str] = {}
    computed = 0
    start = time.perf_counter()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"),
               TimeElapsedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=False) as bar:
            task = bar.add_task(f"measuring ({backend})", total=len(todo), failed=0)
            for rec in stream:
                cid = rec["case_id"]
                rec["fingerprint"] = fps[cid]
                _atomic_json(out / "cases" / f"{cid}.json", rec)
                computed += 1
                if rec["status"] != "ok":
                    err = rec.get("error") or {}
                    failed[cid] = ": ".join(
                        str(x) for x in (err.get("source"), err.get("field"), err.get("message")) if x
                    )
                bar.update(task, advance=1, failed=len(failed))
    finally:
        if own_client:
            client.close()
    seconds = time.perf_counter() - start
    _write_tables(out, cases)
    result = BatchResult(out, len(cases), computed, reused, failed, seconds, backend, n_workers)
    _atomic_json(out / "batch.json", result.to_dict())
    return result
