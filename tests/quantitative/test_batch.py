"""Batch runs: same numbers serial, in processes and on Dask; bad cases reported, never fatal; resumable."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("SimpleITK", reason="the 'quantitative' extra is not installed (SimpleITK)")

from imln.quantitative import (
    QuantitativeError,
    Volume,
    _batch,
    discover_cases,
    run_batch,
)
from imln.quantitative._batch import read_manifest

from .phantoms import Ellipsoid, ellipsoid_mask, rotation, write_image


def make_case(folder: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shapes = [
        Ellipsoid(tuple(rng.uniform(4, 9, 3)), rotation(tuple(rng.normal(size=3)), rng.uniform(0, 3)),
                  (rng.uniform(-10, 10), rng.uniform(-10, 10), z))
        for z in (-12.0, 0.0, 12.0)[: 1 + seed % 3]
    ]
    mask = ellipsoid_mask(shapes, (0.8, 0.8, 1.5), np.eye(3), (36, 36, 24))
    image = Volume(np.where(mask.array > 0, 300.0, 50.0).astype(np.float32), mask.spacing, mask.origin,
                   mask.direction)
    folder.mkdir(parents=True, exist_ok=True)
    write_image(folder / "image.nii.gz", image)
    write_image(folder / "mask.nii.gz", mask)


@pytest.fixture
def cases_dir(tmp_path) -> Path:
    root = tmp_path / "cases"
    for n in range(6):
        make_case(root / f"case{n:02d}", seed=n)
    # a corrupt image and a mask on another grid
    bad = root / "corrupt"
    make_case(bad, seed=10)
    data = (bad / "image.nii.gz").read_bytes()
    (bad / "image.nii.gz").write_bytes(data[: len(data) // 3])
    other = root / "mismatch"
    make_case(other, seed=11)
    make_case(tmp_path / "elsewhere", seed=12)
    img = (tmp_path / "elsewhere" / "image.nii.gz").read_bytes()
    (other / "image.nii.gz").write_bytes(img)
    m = ellipsoid_mask([Ellipsoid((6, 6, 6), np.eye(3), (0, 0, 0))], (0.8, 0.8, 2.0), np.eye(3), (36, 36, 24))
    write_image(other / "mask.nii.gz", m)
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def node_table(path: Path) -> list[tuple]:
    return sorted((r["case_id"], r["node_id"], r["short_axis_mm"], r["volume_mm3"]) for r in read_csv(path))


class TestBatch:
    def test_serial_and_processes_agree_and_bad_cases_are_reported(self, cases_dir, tmp_path):
        cases = discover_cases(cases_dir, modality="mri")
        assert [c.case_id for c in cases] == [f"case{n:02d}" for n in range(6)] + ["corrupt", "mismatch"]
        serial = run_batch(cases, tmp_path / "serial", workers=1, progress=False)
        parallel = run_batch(cases, tmp_path / "parallel", workers=2, progress=False)
        assert (serial.backend, parallel.backend, parallel.workers) == ("serial", "processes", 2)
        for res in (serial, parallel):
            assert res.total == 8 and res.computed == 8 and res.reused == 0
            assert set(res.failed) == {"corrupt", "mismatch"}
            assert "image.nii.gz: gzip: is truncated" in res.failed["corrupt"]
            assert "spacing (0.8, 0.8, 1.5) vs (0.8, 0.8, 2) mm" in res.failed["mismatch"]
        assert node_table(tmp_path / "serial" / "nodes.csv") == node_table(tmp_path / "parallel" / "nodes.csv")
        rows = {r["case_id"]: r for r in read_csv(tmp_path / "parallel" / "cases.csv")}
        assert rows["corrupt"]["status"] == "error" and rows["corrupt"]["error"] == "image_read"
        assert rows["mismatch"]["error_field"] == "spacing, origin"
        assert rows["case02"]["status"] == "ok" and rows["case02"]["finding_node_count"] == "3"
        nodes = read_csv(tmp_path / "parallel" / "nodes.csv")
        assert len(nodes) == 1 + 2 + 3 + 1 + 2 + 3
        assert {"centroid_z_mm", "long_axis_end1_x_mm", "principal_axis_1_mm"} <= set(nodes[0])
        summary = json.loads((tmp_path / "parallel" / "batch.json").read_text())
        assert summary["succeeded"] == 6 and summary["computed"] == 8

    def test_resume_recomputes_only_what_changed(self, cases_dir, tmp_path):
        cases = discover_cases(cases_dir, modality="ct")
        out = tmp_path / "out"
        first = run_batch(cases, out, workers=1, progress=False)
        assert first.computed == 8
        stamps = {p.name: p.stat().st_mtime_ns for p in (out / "cases").glob("case*.json")}
        again = run_batch(cases, out, workers=1, progress=False)
        assert (again.computed, again.reused, set(again.failed)) == (2, 6, {"corrupt", "mismatch"})
        assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "cases").glob("case*.json")}
        # an input changes: only that case runs again
        make_case(cases_dir / "case03", seed=99)
        os.utime(cases_dir / "case03" / "mask.nii.gz", ns=(1, 1))
        third = run_batch(cases, out, workers=1, progress=False)
        assert third.computed == 3 and third.reused == 5
        # another option: everything runs again
        fourth = run_batch(cases, out, workers=1, progress=False, connectivity="corner")
        assert fourth.computed == 8
        assert len(read_csv(out / "cases.csv")) == 8

    def test_a_worker_that_dies_fails_only_its_case(self, cases_dir, tmp_path, monkeypatch):
        """A native crash kills the worker process; the pool is rebuilt and only that case is marked."""
        real = _batch._measure_one

        def crashing(case, options):
            if case.case_id == "case01":
                os._exit(1)
            return real(case, options)

        monkeypatch.setattr(_batch, "_measure_one", crashing)  # inherited by forked workers
        cases = [c for c in discover_cases(cases_dir, modality="mri") if c.case_id.startswith("case")]
        res = run_batch(cases, tmp_path / "out", workers=2, progress=False)
        assert set(res.failed) == {"case01"}
        assert "worker process died while measuring this case" in res.failed["case01"]
        assert res.computed == 6
        assert not list((tmp_path / "out" / "cases").glob("*.running"))

    def test_dask_cluster_gives_the_same_table(self, cases_dir, tmp_path):
        distributed = pytest.importorskip("distributed", reason="the 'quantitative' extra is not installed "
                                                                "(dask.distributed)")
        cases = discover_cases(cases_dir, modality="mri")
        run_batch(cases, tmp_path / "serial", workers=1, progress=False)
        with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                      dashboard_address=None) as cluster:
            res = run_batch(cases, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
        assert res.backend == "dask" and set(res.failed) == {"corrupt", "mismatch"}
        assert node_table(tmp_path / "serial" / "nodes.csv") == node_table(tmp_path / "dask" / "nodes.csv")

    def test_unreachable_scheduler_is_a_clear_error(self, cases_dir, tmp_path):
        pytest.importorskip("distributed", reason="the 'quantitative' extra is not installed (dask.distributed)")
        import socket

        with socket.socket() as s:  # a local port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cases = discover_cases(cases_dir, modality="mri")
        with pytest.raises(QuantitativeError, match=rf"scheduler: cannot connect to the Dask scheduler "
                                                    rf"'tcp://127.0.0.1:{port}' within 2 s"):
            run_batch(cases, tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}", progress=False,
                      scheduler_timeout_s=2)

    def test_radiomics_per_node_with_settings_beside(self, cases_dir, tmp_path):
        pytest.importorskip("radiomics", reason="the 'radiomics' extra is not installed (pyradiomics)")
        cases = [c for c in discover_cases(cases_dir, modality="mri") if c.case_id in ("case00", "case01")]
        res = run_batch(cases, tmp_path / "out", workers=1, progress=False, radiomics="default")
        assert not res.failed
        features = read_csv(tmp_path / "out" / "features.csv")
        assert [(r["case_id"], r["node_id"]) for r in features] == [("case00", "1"), ("case01", "1"), ("case01", "2")]
        nodes = {(r["case_id"], r["node_id"]): r for r in read_csv(tmp_path / "out" / "nodes.csv")}
        for r in features:  # per-node shape features agree with imln's own volume and 3-D diameter
            n = nodes[(r["case_id"], r["node_id"])]
            assert float(r["original_shape_VoxelVolume"]) == pytest.approx(float(n["volume_mm3"]))
            assert float(r["original_shape_Maximum3DDiameter"]) == pytest.approx(float(n["max_3d_diameter_mm"]))
            assert float(r["original_firstorder_Mean"]) == pytest.approx(300.0)
        settings = (tmp_path / "out" / "radiomics_settings.yaml").read_text()
        assert "pyradiomics: v3.0.1" in settings and "binWidth" not in settings.split("setting:")[0]
        assert "imageType:" in settings and "Original" in settings


class TestManifest:
    def test_csv_manifest_with_relative_paths(self, cases_dir, tmp_path):
        manifest = cases_dir / "manifest.csv"
        manifest.write_text("case_id,image,mask,modality\nA,case00/image.nii.gz,case00/mask.nii.gz,mri\n"
                            "B,case01/image.nii.gz,case01/mask.nii.gz,ct\n")
        cases = read_manifest(manifest)
        assert [(c.case_id, c.modality) for c in cases] == [("A", "mri"), ("B", "ct")]
        assert Path(cases[0].image) == cases_dir / "case00" / "image.nii.gz"
        res = run_batch(cases, tmp_path / "out", workers=1, progress=False)
        assert not res.failed

    def test_manifest_errors_name_the_line_and_column(self, tmp_path):
        m = tmp_path / "m.csv"
        m.write_text("case_id,image,modality\nA,a.nii,mri\n")
        with pytest.raises(QuantitativeError, match=r"m.csv: mask: the manifest lacks column mask"):
            read_manifest(m)
        m.write_text("case_id,image,mask,modality\nA,a.nii,a_mask.nii,mri\nA,b.nii,b_mask.nii,mri\n")
        with pytest.raises(QuantitativeError, match=r"m.csv \(line 3\): case_id: case_id 'A' appears twice"):
            read_manifest(m)
        m.write_text("case_id,image,mask,modality\nA,a.nii,,mri\n")
        with pytest.raises(QuantitativeError, match=r"m.csv \(line 2\): mask: mask is empty"):
            read_manifest(m)
        y = tmp_path / "m.yaml"
        y.write_text("- {case_id: A, image: a.nii, mask: m.nii, modality: mri, weight: 3}\n")
        with pytest.raises(QuantitativeError, match=r"m.yaml \(case 1\): weight: unknown column 'weight'"):
            read_manifest(y)

    def test_folder_of_pairs(self, tmp_path):
        make_case(tmp_path / "tmp", seed=1)
        for name in ("image", "mask"):
            (tmp_path / "tmp" / f"{name}.nii.gz").rename(tmp_path / f"p1_{name if name == 'image' else 'label'}.nii.gz")
        cases = discover_cases(tmp_path, modality="ct")
        assert [(c.case_id, Path(c.mask).name) for c in cases] == [("p1", "p1_label.nii.gz")]
        with pytest.raises(QuantitativeError, match="a folder of cases needs the modality"):
            discover_cases(tmp_path)
