"""The formula language, term coding, complete cases and the errors a user sees."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from imln.modeling import LogisticModel, ModelingInputError, parse_formula
from imln.modeling._design import Categorical, Linear, Spline

from .conftest import FORMULA


class TestParseFormula:
    def test_every_term_kind(self) -> None:
        terms = parse_formula("rcs(age, 5) + rcs(log1p(pgr),3) + rcs(er, knots=[1, 10, 100]) + cat(size, ref='<=20')"
                              " + log(x) + sqrt(z) + grade")
        assert terms == [
            Spline("age", n_knots=5),
            Spline("pgr", n_knots=3, transform="log1p"),
            Spline("er", n_knots=3, knots=(1.0, 10.0, 100.0)),
            Categorical("size", reference="<=20"),
            Linear("x", transform="log"),
            Linear("z", transform="sqrt"),
            Linear("grade"),
        ]

    @pytest.mark.parametrize(
        ("formula", "message"),
        [
            ("", "empty"),
            ("rcs(age, 2)", "number of knots must be 3 to 7"),
            ("rcs(age, 8)", "number of knots must be 3 to 7"),
            ("spline(age)", "unknown function 'spline'; allowed: rcs, cat, log, log1p, sqrt"),
            ("age + age", "appears twice"),
            ("age + ", "expected a term"),
            ("age * grade", "cannot read the model formula at '* grade'"),
            ("cat(size, ref=)", "needs a level"),
        ],
    )
    def test_bad_formulas_say_what_is_allowed(self, formula: str, message: str) -> None:
        with pytest.raises(ModelingInputError, match=re.escape(message)):
            parse_formula(formula)


class TestCoding:
    def test_text_column_becomes_categorical_with_sorted_levels(self, rotterdam: pd.DataFrame) -> None:
        m = LogisticModel("size + grade").fit(rotterdam, "nodepos")
        assert m.column_names == ["size=<=20", "size=>50", "grade"]  # '20-50' sorts first: the reference

    def test_reference_level_changes_coding_not_predictions(self, rotterdam: pd.DataFrame) -> None:
        a = LogisticModel("cat(size, ref='<=20') + grade").fit(rotterdam, "nodepos")
        b = LogisticModel("cat(size, ref='>50') + grade").fit(rotterdam, "nodepos")
        assert a.column_names[:2] == ["size=20-50", "size=>50"]
        assert b.column_names[:2] == ["size=20-50", "size=<=20"]
        assert_allclose(a.predict_proba(rotterdam), b.predict_proba(rotterdam), rtol=1e-10)
        assert_allclose(a.coef_["size=>50"], -b.coef_["size=<=20"], rtol=1e-10)

    def test_numeric_codes_as_categories(self, rotterdam: pd.DataFrame) -> None:
        m = LogisticModel("cat(grade)").fit(rotterdam, "nodepos")
        assert m.column_names == ["grade=3"]
        linear = LogisticModel("grade").fit(rotterdam, "nodepos")  # two levels: same model
        assert_allclose(m.coef_.to_numpy(), [linear.coef_.iloc[0] + 2 * linear.coef_.iloc[1], linear.coef_.iloc[1]],
                        rtol=1e-9)


class TestCompleteCases:
    def test_rows_with_missing_values_are_excluded_and_counted(self, rotterdam: pd.DataFrame) -> None:
        d = rotterdam.copy()
        d.loc[[0, 1, 2], "age"] = np.nan
        d.loc[[2, 3], "size"] = None
        d.loc[[10], "nodepos"] = np.nan
        d["nodepos"] = d["nodepos"].astype("Float64")
        m = LogisticModel(FORMULA).fit(d, "nodepos")
        cc = m.complete_cases_
        assert (cc.n_rows, cc.n_used, cc.n_excluded) == (2982, 2977, 5)
        assert cc.missing_by_column == {"nodepos": 1, "age": 3, "meno": 0, "size": 2, "grade": 0, "pgr": 0, "er": 0}
        assert set(cc.excluded_rows) == {0, 1, 2, 3, 10}
        assert "5 of 2982 rows excluded" in cc.describe()
        reference = LogisticModel(FORMULA).fit(rotterdam.drop(index=[0, 1, 2, 3, 10]), "nodepos")
        assert_allclose(m.coef_.to_numpy(), reference.coef_.to_numpy(), rtol=1e-10)

    def test_prediction_is_nan_where_a_predictor_is_missing(self, model: LogisticModel,
                                                             rotterdam: pd.DataFrame) -> None:
        d = rotterdam.head(5).copy()
        d.loc[1, "pgr"] = np.nan
        p = model.predict_proba(d)
        assert np.isnan(p[1]) and np.all(np.isfinite(p[[0, 2, 3, 4]]))


class TestErrors:
    def test_missing_column_is_named(self, rotterdam: pd.DataFrame) -> None:
        with pytest.raises(ModelingInputError, match=(
                r"column\(s\) \['tumour_size'\] not in"
                r" the data; available columns: \['pid'"
        )):
            LogisticModel("age + tumour_size").fit(rotterdam, "nodepos")

    def test_non_binary_outcome(self, rotterdam: pd.DataFrame) -> None:
        with pytest.raises(ModelingInputError, match=(
                r"outcome 'nodes' must be binary \("
                r"two values, e.g. 0/1\); found 28"
        )):
            LogisticModel("age").fit(rotterdam, "nodes")

    def test_constant_predictor(self, rotterdam: pd.DataFrame) -> None:
        d = rotterdam.assign(centre="Rotterdam")
        with pytest.raises(ModelingInputError, match=(
                r"predictor 'centre' is constant \(e"
                r"very complete case is 'Rotterdam'\)"
        )):
            LogisticModel("age + centre").fit(d, "nodepos")
        with pytest.raises(ModelingInputError, match=r"predictor 'one' is constant \(every complete case is 1\)"):
            LogisticModel("age + one").fit(rotterdam.assign(one=1), "nodepos")

    def test_too_few_events(self, rotterdam: pd.DataFrame) -> None:
        d = rotterdam.head(200).copy()
        d["rare"] = 0
        d.loc[d.index[:4], "rare"] = 1
        with pytest.raises(ModelingInputError, match=(
                r"outcome 'rare' has 4 events amon"
                r"g 200 complete cases; at least 10"
        )):
            LogisticModel("age").fit(d, "rare")
        assert LogisticModel("age", min_events=4).fit(d, "rare").stats_.events == 4

    def test_text_outcome_needs_an_event_level_unless_obvious(self, rotterdam: pd.DataFrame) -> None:
        d = rotterdam.assign(status=np.where(rotterdam["nodepos"] == 1, "N+", "N0"))
        with pytest.raises(ModelingInputError, match=re.escape("levels ['N+', 'N0']; say which one is the event")):
            LogisticModel("age").fit(d, "status")
        m = LogisticModel("age").fit(d, "status", event="N+")
        assert m.stats_.events == 1546
        yes_no = rotterdam.assign(imln=np.where(rotterdam["nodepos"] == 1, "yes", "no"))
        assert LogisticModel("age").fit(yes_no, "imln").event_ == "yes"

    def test_transform_domain(self, rotterdam: pd.DataFrame) -> None:
        with pytest.raises(ModelingInputError, match=(
                r"log\(pgr\) is undefined for 588 row\("
                r"s\) \(e.g. pgr=0\); allowed: pgr > 0"
        )):
            LogisticModel("log(pgr)").fit(rotterdam, "nodepos")

    def test_text_in_numeric_term(self, rotterdam: pd.DataFrame) -> None:
        with pytest.raises(ModelingInputError, match=(
                r"column 'size' must be numeric; found n"
                r"on-numeric value\(s\) \['<=20', '20-50'"
        )):
            LogisticModel("rcs(size, 3)").fit(rotterdam, "nodepos")

    def test_unknown_level_at_prediction(self, model: LogisticModel, rotterdam: pd.DataFrame) -> None:
        d = rotterdam.head(3).assign(size=["<=20", "huge", ">50"])
        with pytest.raises(ModelingInputError, match=(
                r"column 'size' has level\(s\) \['huge'\] not"
                r" seen .*allowed: \['<=20', '20-50', '>50'\]"
        )):
            model.predict_proba(d)

    def test_outcome_as_predictor(self, rotterdam: pd.DataFrame) -> None:
        with pytest.raises(ModelingInputError, match="outcome 'nodepos' also appears as a predictor"):
            LogisticModel("age + nodepos").fit(rotterdam, "nodepos")
