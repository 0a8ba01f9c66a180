"""The evidence files shipped in the package: complete, cited, and Table 1 as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from imln.evidence import EvidenceError, Obtained, audit_evidence, default_data_dir, load_evidence


@pytest.fixture(scope="module")
def evidence():
    return load_evidence()


@pytest.fixture(scope="module")
def report(evidence):
    return audit_evidence(evidence)


def test_every_record_and_value_resolves_to_a_reference(evidence):
    for record in evidence:
        assert record.citation in evidence.references, record.id
        if record.primary_citation:
            assert record.primary_citation in evidence.references, record.id
        assert record.location.strip(), record.id
        for name, value in record.values.items():
            assert value.unit is not None, (record.id, name)


def test_every_reference_is_used(evidence):
    used = {r.citation for r in evidence} | {r.primary_citation for r in evidence if r.primary_citation}
    assert set(evidence.references) - used == set()


def test_manifest_lists_every_data_file():
    data = default_data_dir()
    manifest = yaml.safe_load((data / "manifest.yaml").read_text())
    on_disk = {p.name for p in data.glob("*.yaml")} - {"manifest.yaml", manifest["references"]}
    assert set(manifest["record_files"]) == on_disk


def test_quoted_and_derived_records_say_how(evidence):
    for record in evidence:
        if record.obtained is Obtained.quoted_by_review:
            assert re.fullmatch(r"\[[\d,\s–-]+\]", record.review_ref or ""), record.id
        if record.obtained is Obtained.derived:
            assert record.derivation and record.derived_from, record.id


# The review's Table 1, exactly as printed (Wang, Qiu, Li. Breast Cancer 2022;29:933-944).
TABLE_1 = {
    "review-table1-us": ("us", "[6]", "114", "70", "74%", "53%", "78.57%"),
    "review-table1-mri": ("mri", "[29]", "16", "43", "93.30%", "89.30%", "90.7%"),
    "review-table1-pet-ct": ("pet_ct", "[41]", "249", "31", "87.10%", None, None),
    "review-table1-pet-mri": ("pet_mri", "[44]", "80", "9", "88%", "100%", "88.89%"),
    "review-table1-spect-ct": ("spect_ct", "[86]", "211", "148", "96.70%", "97.70%", "98.70%"),
}


@pytest.mark.parametrize("rid", sorted(TABLE_1))
def test_review_table1_rows_are_transcribed_as_printed(evidence, rid):
    modality, ref, n_pat, n_imln, sens, spec, acc = TABLE_1[rid]
    r = evidence.get(rid)
    assert (r.modality.value, r.review_ref) == (modality, ref)
    printed = {k: v.printed for k, v in r.values.items()}
    expected = {"n_patients": n_pat, "n_imln": n_imln, "sensitivity": sens, "specificity": spec, "accuracy": acc}
    assert printed == {k: v for k, v in expected.items() if v is not None}


def test_audit_verdicts_on_table1(report):
    """US and SPECT/CT rows cannot hold (accuracy above both rates); US's 74% is the PPV of its source."""
    assert report["review-table1-us"].status == "fail"
    assert report["review-table1-spect-ct"].status == "fail"
    assert report["review-table1-mri"].status == "warn"  # consistent only with trailing zeros as padding
    us_checks = {r.check: r.status for r in report["review-table1-us"].results}
    assert us_checks["ppv_reported_as_sensitivity"] == "fail"
    assert us_checks["accuracy_between_sensitivity_and_specificity"] == "fail"


def test_audit_covers_every_record(evidence, report):
    assert set(report.records) == {r.id for r in evidence}
    assert all(a.checks_run for a in report)


def test_malformed_evidence_file_names_file_record_and_field(tmp_path: Path):
    data = default_data_dir()
    for name in ("manifest.yaml", "references.yaml"):
        (tmp_path / name).write_text((data / name).read_text())
    manifest = yaml.safe_load((data / "manifest.yaml").read_text())
    for name in manifest["record_files"]:
        (tmp_path / name).write_text((data / name).read_text())
    broken = yaml.safe_load((data / "imaging_accuracy.yaml").read_text())
    broken["records"][0]["values"]["sensitivity"]["unit"] = "furlongs"
    (tmp_path / "imaging_accuracy.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(EvidenceError, match=r"imaging_accuracy\.yaml: record 'review-table1-us'[\s\S]*unit"):
        load_evidence(tmp_path)


def test_digest_changes_when_a_number_changes(tmp_path: Path):
    data = default_data_dir()
    for p in data.glob("*.yaml"):
        (tmp_path / p.name).write_text(p.read_text())
    before = load_evidence(tmp_path).digest
    text = (tmp_path / "imaging_accuracy.yaml").read_text().replace('"78.57%"', '"78.58%"')
    (tmp_path / "imaging_accuracy.yaml").write_text(text)
    assert load_evidence(tmp_path).digest != before


def test_reference_text_uses_only_fields_that_were_read():
    from imln.evidence import Reference

    full = Reference(key="darby2013", authors=["Darby SC", "Ewertz M"], title="Risk of ischemic heart disease",
                     journal="N Engl J Med", year=2013, volume="368", issue="11", pages="987-998",
                     doi="10.1056/NEJMoa1209825", access="abstract")
    assert full.formatted == ("Darby SC, Ewertz M. Risk of ischemic heart disease. N Engl J Med 2013;368(11):987-998. "
                              "doi:10.1056/NEJMoa1209825")
    assert full.label == "Darby et al. 2013"
    bare = Reference(key="x", title="Sonography of IM nodes", journal="AJR", year=2015, access="abstract")
    assert bare.formatted == "Sonography of IM nodes. AJR 2015."
    assert bare.label == "AJR 2015"


def test_reloading_unchanged_files_returns_the_same_object(tmp_path: Path):
    """A folder loaded again is the same evidence base while its files are unchanged (so the caches keyed on it
    hold one copy), and a new one as soon as a file changes."""
    import imln
    from imln.decision import _recommend

    data = default_data_dir()
    for p in data.glob("*.yaml"):
        (tmp_path / p.name).write_text(p.read_text())
    first = load_evidence(tmp_path)
    assert load_evidence(tmp_path) is first and load_evidence(str(tmp_path)) is first
    patient = imln.load_patient(Path(__file__).parents[2] / "examples" / "medial_4plus_nodes.yaml")
    _recommend._recommend.cache_clear()
    for _ in range(3):
        imln.assess(patient, evidence=load_evidence(tmp_path))
    assert _recommend._recommend.cache_info().currsize == 1
    text = (tmp_path / "imaging_accuracy.yaml").read_text().replace('"78.57%"', '"78.58%"')
    (tmp_path / "imaging_accuracy.yaml").write_text(text)
    changed = load_evidence(tmp_path)
    assert changed is not first and changed.digest != first.digest
    assert load_evidence() is load_evidence() and load_evidence() is not first  # the bundled base: its own entry
