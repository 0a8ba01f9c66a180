"""The audit's verdicts on records built to be consistent or inconsistent.

Each inconsistent record is worked by hand in its docstring so the expected
verdict does not rest on the code under test.
"""

from __future__ import annotations

import pytest

from imln.evidence import AuditPolicy, audit_evidence, select_records
from tests.evidence.conftest import make_base, make_diagnostic, make_record, make_reference, with_fields


def _result(report, rid, check):
    matches = [r for r in report[rid].results if r.check == check]
    assert matches, f"{check} did not run on {rid}; ran {report[rid].checks_run}"
    return matches[0]


class TestDiagnosticAccuracy:
    def test_consistent_row_reconstructs_its_table(self):
        """14/15 = 93.3%, 25/28 = 89.3%, 39/43 = 90.7%: one table over 43 nodes."""
        rec = make_diagnostic("mri-ok", n_imln="43", sensitivity="93.3%", specificity="89.3%", accuracy="90.7%")
        report = audit_evidence(make_base(rec))
        assert report["mri-ok"].status == "pass"
        [table] = report["mri-ok"].tables["nodes (n_imln)"]
        assert (table.tp, table.fn, table.tn, table.fp) == (14, 1, 25, 3)

    def test_accuracy_above_both_rates_fails(self):
        """Accuracy = p·sens + (1−p)·spec lies between them; 78.57% is above 74% and 53%."""
        rec = make_diagnostic("us-bad", n_imln="70", n_patients="114", sensitivity="74%", specificity="53%",
                              accuracy="78.57%")
        report = audit_evidence(make_base(rec))
        assert report["us-bad"].status == "fail"
        assert _result(report, "us-bad", "accuracy_between_sensitivity_and_specificity").status == "fail"
        assert _result(report, "us-bad", "two_by_two_reconstruction").status == "fail"

    def test_accuracy_inside_bounds_but_no_integer_table_fails(self):
        """Over 10 subjects, 60% sensitivity needs 3/5 or 6/10 diseased; 6/10 leaves no
        non-diseased for specificity, and 3/5 with 2/5 = 40% gives accuracy 5/10 = 50%, not 55%.
        So no table exists, although 55% lies between 40% and 60%."""
        rec = make_diagnostic("grim", n_total="10", sensitivity="60%", specificity="40%", accuracy="55%")
        report = audit_evidence(make_base(rec))
        assert _result(report, "grim", "accuracy_between_sensitivity_and_specificity").status == "pass"
        assert _result(report, "grim", "two_by_two_reconstruction").status == "fail"

    def test_padded_trailing_zero_is_a_warning_not_a_failure(self):
        """'93.30%' cannot be k/d for d ≤ 43 at two decimals, but 93.3% = 14/15 can."""
        rec = make_diagnostic("pad", n_imln="43", sensitivity="93.30%", specificity="89.30%", accuracy="90.7%")
        result = _result(audit_evidence(make_base(rec)), "pad", "two_by_two_reconstruction")
        assert result.status == "warn"
        assert "padding" in result.message and "TP 14" in result.message

    def test_tiny_denominator_is_flagged(self):
        """88% = 7/8, 100% = 1/1, 88.89% = 8/9: specificity rests on one node."""
        rec = make_diagnostic("thin", n_imln="9", sensitivity="88%", specificity="100%", accuracy="88.89%")
        result = _result(audit_evidence(make_base(rec)), "thin", "two_by_two_reconstruction")
        assert result.status == "warn"
        assert "specificity rests on 1" in result.message

    def test_sensitivity_alone_is_not_identified(self):
        rec = make_diagnostic("sens-only", n_imln="31", sensitivity="87.10%")
        result = _result(audit_evidence(make_base(rec)), "sens-only", "two_by_two_reconstruction")
        assert result.status == "warn"
        assert "TP 27, FN 4" in result.message

    def test_ppv_printed_as_sensitivity_fails(self):
        sens = make_diagnostic("table-us", n_imln="70", sensitivity="74%", specificity="53%")
        sens = with_fields(sens, modality="us", review_ref="[6]", obtained="quoted_by_review")
        ppv = make_record(id="text-us-ppv", measures="imaging_positive_confirmed", modality="us",
                          obtained="quoted_by_review", review_ref="[6]",
                          values={"percent": {"printed": "74%", "unit": "percent"}})
        report = audit_evidence(make_base(sens, ppv))
        assert _result(report, "table-us", "ppv_reported_as_sensitivity").status == "fail"

    def test_same_value_from_another_source_is_not_a_ppv_clash(self):
        sens = make_diagnostic("table-us", n_imln="70", sensitivity="74%", specificity="53%")
        sens = with_fields(sens, modality="us", review_ref="[6]", obtained="quoted_by_review")
        ppv = make_record(id="text-us-ppv", measures="imaging_positive_confirmed", modality="us",
                          obtained="quoted_by_review", review_ref="[26]",
                          values={"percent": {"printed": "74%", "unit": "percent"}})
        report = audit_evidence(make_base(sens, ppv))
        assert _result(report, "table-us", "ppv_reported_as_sensitivity").status == "pass"


class TestProportions:
    def test_percentage_impossible_for_its_denominator(self):
        """No k/7 rounds to 71.8% (5/7 = 71.43%, 6/7 = 85.71%)."""
        rec = make_record(values={"total": {"printed": "7", "unit": "count"},
                                  "percent": {"printed": "71.8%", "unit": "percent", "denominator": "total"}})
        assert _result(audit_evidence(make_base(rec)), "rec-1", "percent_denominators").status == "fail"

    def test_events_over_total_must_give_the_percentage(self):
        """155/216 = 71.76%: '71.8%' passes, '72.8%' fails."""
        good = make_record(id="good", values={
            "events": {"printed": "155", "unit": "count"}, "total": {"printed": "216", "unit": "count"},
            "percent": {"printed": "71.8%", "unit": "percent", "numerator": "events", "denominator": "total"}})
        bad = make_record(id="bad", measures="other", values={
            "events": {"printed": "155", "unit": "count"}, "total": {"printed": "216", "unit": "count"},
            "percent": {"printed": "72.8%", "unit": "percent", "numerator": "events", "denominator": "total"}})
        report = audit_evidence(make_base(good, bad))
        assert _result(report, "good", "percent_denominators").status == "pass"
        assert _result(report, "bad", "percent_denominators").status == "fail"

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            ({"printed": "120%", "unit": "percent"}, "outside 0–100%"),
            ({"printed": "2.5", "unit": "count"}, "not a whole number"),
            ({"printed": "20%", "unit": "percent", "ci95": ["21", "30"]}, "outside its own 95% CI"),
            ({"printed": "20%", "unit": "percent", "ci95": ["30", "21"]}, "lower bound above upper"),
        ],
    )
    def test_values_outside_their_unit_fail(self, value, problem):
        rec = make_record(values={"percent": value})
        result = _result(audit_evidence(make_base(rec)), "rec-1", "value_ranges")
        assert result.status == "fail"
        assert problem in result.message


class TestCrossRecord:
    def test_unresolved_citation_fails(self):
        rec = make_record(citation="nobody1999")
        result = _result(audit_evidence(make_base(rec)), "rec-1", "citation_resolves")
        assert result.status == "fail" and "nobody1999" in result.message

    def test_same_source_same_quantity_different_values_conflict(self):
        """A title and an abstract of one paper giving different cohort sizes."""
        title = make_record(id="cohort-title", kind="descriptive", measures="cohort_size",
                            values={"n": {"printed": "2,269", "unit": "count"}})
        abstract = make_record(id="cohort-abstract", kind="descriptive", measures="cohort_size",
                               values={"n": {"printed": "1,679", "unit": "count"}})
        report = audit_evidence(make_base(title, abstract))
        assert report["cohort-title"].status == "fail"
        assert report["cohort-abstract"].status == "fail"
        assert "2,269 vs 1,679" in _result(report, "cohort-title", "duplicates_and_conflicts").message

    def test_exact_duplicate_warns(self):
        a = make_record(id="dup-a")
        b = make_record(id="dup-b")
        report = audit_evidence(make_base(a, b))
        assert _result(report, "dup-a", "duplicates_and_conflicts").status == "warn"

    def test_review_misquoting_its_primary_fails_the_quote_only(self):
        primary = make_record(id="primary", values={"percent": {"printed": "9.7%", "unit": "percent"}})
        quote = make_record(id="quote", citation="review2022", obtained="quoted_by_review", review_ref="[26]",
                            primary_citation="src2020", values={"percent": {"printed": "12%", "unit": "percent"}})
        report = audit_evidence(make_base(primary, quote, references=[make_reference(), make_reference("review2022")]))
        assert report["quote"].status == "fail"
        assert report["primary"].status == "warn"

    def test_review_quoting_its_primary_faithfully_passes(self):
        primary = make_record(id="primary", values={"percent": {"printed": "10%", "unit": "percent"}})
        quote = make_record(id="quote", citation="review2022", obtained="quoted_by_review", review_ref="[26]",
                            primary_citation="src2020", values={"percent": {"printed": "10%", "unit": "percent"}})
        report = audit_evidence(make_base(primary, quote, references=[make_reference(), make_reference("review2022")]))
        assert report["quote"].status == "pass"
        assert report["primary"].status == "pass"

    def test_opposite_directions_for_one_factor_warn(self):
        pos = make_record(id="her2-pos", kind="association", factor="her2_positive", direction="increases",
                          values={})
        neg = make_record(id="her2-neg", kind="association", factor="her2_positive", direction="decreases",
                          citation="other2018", values={})
        report = audit_evidence(make_base(pos, neg, references=[make_reference(), make_reference("other2018")]))
        assert report["her2-pos"].status == "warn"
        assert "her2-neg says decreases" in report["her2-pos"].messages[0]


class TestDerivation:
    def _inputs(self):
        aln_pos = make_record(id="aln-pos", stratum={"aln": "positive"},
                              values={"percent": {"printed": "29.1%", "unit": "percent"}})
        aln_neg = make_record(id="aln-neg", stratum={"aln": "negative"},
                              values={"percent": {"printed": "9.1%", "unit": "percent"}})
        return aln_pos, aln_neg

    def _derived(self, printed):
        return make_record(
            id="or-derived", kind="effect_estimate", measures="imln_metastasis_or", obtained="derived",
            derivation="unadjusted odds ratio of the two proportions", derived_from=["aln-pos", "aln-neg"],
            formula={"op": "odds_ratio", "target": "odds_ratio", "operands": ["aln-pos:percent", "aln-neg:percent"]},
            values={"odds_ratio": {"printed": printed, "unit": "ratio"}},
        )

    def test_correct_derivation_reproduces(self):
        """(0.291/0.709)/(0.091/0.909) = 4.0999 → '4.10'."""
        report = audit_evidence(make_base(*self._inputs(), self._derived("4.10")))
        assert _result(report, "or-derived", "derivation_reproduces").status == "pass"

    def test_wrong_derivation_fails(self):
        report = audit_evidence(make_base(*self._inputs(), self._derived("4.50")))
        assert _result(report, "or-derived", "derivation_reproduces").status == "fail"


class TestSelection:
    def _report(self):
        good = make_diagnostic("good", n_imln="43", sensitivity="93.3%", specificity="89.3%", accuracy="90.7%")
        bad = make_diagnostic("bad", n_imln="70", sensitivity="74%", specificity="53%", accuracy="78.57%")
        bad = with_fields(bad, modality="us")  # another quantity: not a conflict with "good"
        return [good, bad], audit_evidence(make_base(good, bad))

    def test_refuse_leaves_failed_records_out_with_reasons(self):
        records, report = self._report()
        sel = select_records(records, report, AuditPolicy.refuse)
        assert [r.id for r, _ in sel.used] == ["good"]
        [(excluded, reasons)] = sel.excluded
        assert excluded.id == "bad" and any("accuracy" in m for m in reasons)

    def test_downweight_keeps_failed_records_with_reduced_weight(self):
        records, report = self._report()
        sel = select_records(records, report, "downweight", failed_weight=0.1)
        assert dict((r.id, w) for r, w in sel.used) == {"good": 1.0, "bad": 0.1}

    def test_weights_outside_unit_interval_are_refused(self):
        records, report = self._report()
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            select_records(records, report, "downweight", failed_weight=2)


class TestDirectionRules:
    def _assoc(self, rid, direction, analysis=None, citation="src2020"):
        return make_record(id=rid, kind="association", factor="tumor_size_larger", direction=direction,
                           citation=citation, stratum={"analysis": analysis} if analysis else {}, values={})

    def test_univariable_effect_lost_after_adjustment_is_not_a_conflict(self):
        uni = self._assoc("uni", "increases", "univariable")
        multi = self._assoc("multi", "no_effect", "multivariable")
        report = audit_evidence(make_base(uni, multi))
        assert report["uni"].status == "pass" and report["multi"].status == "pass"

    def test_opposite_signs_conflict_whatever_the_analysis(self):
        a = self._assoc("rec-a", "increases", "univariable")
        b = self._assoc("rec-b", "decreases", "multivariable", citation="other2018")
        report = audit_evidence(make_base(a, b, references=[make_reference(), make_reference("other2018")]))
        assert report["rec-a"].status == "warn"

    def test_two_effect_estimates_of_different_factors_are_not_a_conflict(self):
        """One paper's OR for inner location (5.9) and for ALN+ (4.4) are different quantities."""
        inner = make_record(id="or-inner", kind="effect_estimate", factor="tumor_site_inner",
                            values={"odds_ratio": {"printed": "5.9", "unit": "ratio"}})
        aln = make_record(id="or-aln", kind="effect_estimate", factor="axillary_node_positive",
                          values={"odds_ratio": {"printed": "4.4", "unit": "ratio"}})
        report = audit_evidence(make_base(inner, aln))
        assert report["or-inner"].status == "pass" and report["or-aln"].status == "pass"


class TestBounds:
    def _quote(self, rid, printed, ref):
        return make_record(id=rid, measures="imn_recurrence", obtained="quoted_by_review", review_ref=ref,
                           values={"percent": {"printed": printed, "unit": "percent"}})

    def test_point_inside_a_printed_bound_is_consistent(self):
        summary = self._quote("summary", "< 1.5%", "[12]")
        row = self._quote("row", "0.2%", "[12]")
        report = audit_evidence(make_base(summary, row))
        assert _result(report, "row", "duplicates_and_conflicts").status == "pass"

    def test_point_outside_a_printed_bound_conflicts(self):
        summary = self._quote("summary", "< 1.5%", "[12]")
        row = self._quote("row", "2.0%", "[12]")
        report = audit_evidence(make_base(summary, row))
        assert _result(report, "row", "duplicates_and_conflicts").status == "fail"

    def test_summary_over_many_references_is_not_compared_with_one_of_them(self):
        summary = self._quote("summary", "< 1.5%", "[12, 67–71]")
        row = self._quote("row", "2.0%", "[67]")
        report = audit_evidence(make_base(summary, row))
        assert _result(report, "row", "duplicates_and_conflicts").message.startswith("no other record")


def test_truncated_percentage_is_a_warning_and_an_unexplained_one_a_failure():
    """28/2057 = 1.361%: '1.3%' is the truncation (warn); 82/712 = 11.517%: '11.4%' is neither (fail)."""
    trunc = make_record(id="trunc", values={
        "events": {"printed": "28", "unit": "count"}, "total": {"printed": "2,057", "unit": "count"},
        "percent": {"printed": "1.3%", "unit": "percent", "numerator": "events", "denominator": "total"}})
    wrong = make_record(id="wrong", measures="other", values={
        "events": {"printed": "82", "unit": "count"}, "total": {"printed": "712", "unit": "count"},
        "percent": {"printed": "11.4%", "unit": "percent", "numerator": "events", "denominator": "total"}})
    report = audit_evidence(make_base(trunc, wrong))
    assert _result(report, "trunc", "percent_denominators").status == "warn"
    assert "truncated" in _result(report, "trunc", "percent_denominators").message
    assert _result(report, "wrong", "percent_denominators").status == "fail"
