"""Fixtures: real data shipped in registry packages (pydicom's test files, pyradiomics' sdist).

pyradiomics' test cases and baselines ship only in its source distribution on PyPI. They are
fetched once with pip (the ordinary client) into ``$IMLN_TEST_DATA`` (default
``~/.cache/imln-test-data``) and reused; the download uses the build requirements the
radiomics recipe installs (numpy, setuptools, versioneer), so tests needing it belong to
the ``radiomics`` extra and skip, saying so, when pyradiomics is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

PYRADIOMICS_SDIST = "pyradiomics==3.0.1"
_RADIOMICS_REASON = (
    "the 'radiomics' extra is not installed (pyradiomics); install it with: pip install numpy setuptools wheel "
    "versioneer && pip install --no-build-isolation pyradiomics==3.0.1"
)


def pydicom_file(name: str) -> Path:
    """Path of a test file bundled in the pydicom wheel (never downloaded)."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom no longer bundles {name}"
    return Path(path)


def pydicom_folder(relative: str) -> Path:
    return pydicom_file("CT_small.dcm").parent / relative


def _cache_root() -> Path:
    root = os.environ.get("IMLN_TEST_DATA")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "imln-test-data"


@pytest.fixture(scope="session")
def pyradiomics_data() -> Path:
    """``pyradiomics-3.0.1/data`` from the PyPI sdist: 5 cases (``<case>_image.nrrd``/``_label.nrrd``) + baselines."""
    try:
        import radiomics  # noqa: F401
    except ImportError:
        pytest.skip(_RADIOMICS_REASON)
    target = _cache_root() / "pyradiomics-3.0.1"
    data = target / "data"
    if not (data / "baseline" / "baseline_shape.csv").is_file():
        target.mkdir(parents=True, exist_ok=True)
        download = target / "sdist"
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:", "--no-build-isolation",
               "--dest", str(download), PYRADIOMICS_SDIST]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
        archives = sorted(download.glob("pyradiomics-3.0.1.tar.gz"))
        if proc.returncode != 0 or not archives:
            pytest.fail(f"could not fetch the pyradiomics sdist with `{' '.join(cmd)}`:\n{proc.stderr[-2000:]}")
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("pyradiomics-3.0.1/data/") and m.isfile()]
            for m in members:
                m.name = m.name[len("pyradiomics-3.0.1/"):]
            tar.extractall(target, members=members, filter="data")
        for archive in archives:  # keep the 1.5 MB of cases and baselines, not the 34 MB archive
            archive.unlink()
    return data


def pytest_collection_modifyitems(config, items):
    """pyradiomics 3.0.1 loads its feature classes with a loader Python 3.11 deprecates; not imln's warning."""
    here = Path(__file__).parent
    mark = pytest.mark.filterwarnings("ignore:the load_module\\(\\) method is deprecated:DeprecationWarning")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(mark)
