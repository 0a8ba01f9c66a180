"""Model files are validated on load; the registry adds, lists and compares models."""

from __future__ import annotations

import copy

import pytest
import yaml

from imln import load_patient
from imln.risk import (
    ModelSpecError,
    add_model,
    compare_models,
    get_model,
    list_models,
    load_model_spec,
    predict_risk,
)

PUBLISHED = {
    "id": "example-published",
    "version": "1",
    "title": "A model entered from a paper's coefficients",
    "summary": "Two terms, for tests.",
    "obtained": "published_coefficients",
    "outcome": "IM sentinel node metastasis",
    "ascertainment": "im_sln_biopsy",
    "intended_population": "IM-SLNB candidates",
    "features": [
        {"name": "positive_axillary_nodes", "description": "nodes", "kind": "numeric", "unit": "nodes"},
        {"name": "age_years", "description": "age", "kind": "numeric", "unit": "years", "minimum": 18, "maximum": 100},
    ],
    "terms": [
        {"name": "node_positive", "label": "node positive", "feature": "positive_axillary_nodes",
         "kind": "indicator", "when": {"min": 1}, "log_odds": 1.79, "standard_error": 0.28, "sources": ["imslnb2019-or-aln"]},
        {"name": "age_per_decade", "label": "age per 10 years", "feature": "age_years", "kind": "linear",
         "centre": 50, "per": 10, "log_odds": -0.2, "standard_error": 0.1},
    ],
    "settings": [{"id": "im_slnb", "description": "IM-SLNB", "intercept": -2.0, "standard_error": 0.2,
                  "anchor": "for tests"}],
    "default_setting": "im_slnb",
    "validation": "none",
}


def write(tmp_path, data, name="m.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    d = tmp_path / "registry"
    monkeypatch.setenv("IMLN_MODELS_DIR", str(d))
    return d


class TestValidation:
    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda m: m["terms"][0].pop("when"), "an indicator term needs 'when'"),
            (lambda m: m["terms"][0].update(feature="shoe_size"), "reads feature 'shoe_size'"),
            (lambda m: m.update(default_setting="elsewhere"), "default_setting 'elsewhere' is not one of im_slnb"),
            (lambda m: m["terms"][0].update(when={"min": 5, "max": 1}), "min 5 is above max 1"),
            (lambda m: m["terms"][1].update(per=0), "'per' must not be 0"),
            (lambda m: m["terms"].append(copy.deepcopy(m["terms"][0])), "duplicate term names: node_positive"),
            (lambda m: m.update(covariance={"parameters": ["node_positive"], "matrix": [[-1.0]]}), "positive semi-definite"),
            (lambda m: m.update(obtained="guessed"), "obtained"),
            (lambda m: m["terms"][0].update(standard_error=-1), "terms.0.standard_error"),
        ],
    )
    def test_bad_model_files_name_the_problem(self, tmp_path, change, message):
        data = copy.deepcopy(PUBLISHED)
        change(data)
        with pytest.raises(ModelSpecError, match=message) as info:
            load_model_spec(write(tmp_path, data))
        assert "m.yaml" in str(info.value)

    def test_not_a_mapping(self, tmp_path):
        path = tmp_path / "m.yaml"
        path.write_text("- just\n- a list\n")
        with pytest.raises(ModelSpecError, match="must be a mapping"):
            load_model_spec(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(ModelSpecError, match="no such model file"):
            load_model_spec(tmp_path / "absent.yaml")


class TestRegistry:
    def test_bundled_default_is_listed(self, user_dir):
        entries = list_models()
        assert [e.id for e in entries] == ["imln-erm-joint", "imln-erm-synthesis"]  # the default, and v1 for comparison
        assert {e.origin for e in entries} == {"bundled"}

    def test_add_list_predict_and_compare(self, tmp_path, user_dir):
        add_model(write(tmp_path, PUBLISHED))
        assert [e.origin for e in list_models()] == ["bundled", "bundled", "user"]
        p = load_patient({"age_years": 60, "laterality": "left", "setting": "diagnosis", "positive_axillary_nodes": 2,
                          "tumor_size_mm": 15, "tumor_location": {"quadrant": "UOQ"}})
        r = predict_risk(p, "example-published")
        eta = -2.0 + 1.79 - 0.2 * (60 - 50) / 10
        assert r.probability == pytest.approx(1 / (1 + 2.718281828459045 ** -eta))
        both = compare_models(p)
        assert [b.model_id for b in both] == ["imln-erm-joint", "imln-erm-synthesis", "example-published"]
        assert len({b.probability for b in both}) == 3

    def test_duplicate_and_bundled_ids_are_refused_and_nothing_is_overwritten(self, tmp_path, user_dir):
        add_model(write(tmp_path, PUBLISHED))
        before = (user_dir / "example-published.yaml").read_text()
        changed = {**PUBLISHED, "version": "2"}
        with pytest.raises(ModelSpecError, match="already registered"):
            add_model(write(tmp_path, changed, "m2.yaml"))
        assert (user_dir / "example-published.yaml").read_text() == before
        add_model(write(tmp_path, changed, "m2.yaml"), replace=True)
        assert get_model("example-published").version == "2"
        with pytest.raises(ModelSpecError, match="belongs to a bundled model"):
            add_model(write(tmp_path, {**PUBLISHED, "id": "imln-erm-synthesis"}, "m3.yaml"))

    def test_invalid_file_is_not_added(self, tmp_path, user_dir):
        with pytest.raises(ModelSpecError):
            add_model(write(tmp_path, {**PUBLISHED, "terms": []} | {"default_setting": "x"}))
        assert not user_dir.exists() or not list(user_dir.iterdir())

    def test_unknown_model_lists_the_known_ones(self, user_dir):
        with pytest.raises(ModelSpecError, match="no model 'nope' is registered; known: imln-erm-joint, imln-erm-synthesis"):
            get_model("nope")
