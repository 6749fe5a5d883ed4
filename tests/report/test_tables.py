"""Table contents from the fixture, with every expected value worked out by hand from results.json."""

from __future__ import annotations

import statistics

import pytest

from clinical_mpt.report import tables
from clinical_mpt.report.tables import Column


def test_fixture_is_self_consistent(results):
    """The hand-written k-shot means/stds agree with their per-seed scores (guards the other tests)."""
    for m in results["methods"].values():
        for shot in m["shots"].values():
            for t in shot["tasks"].values():
                assert t["score"] == pytest.approx(statistics.fmean(t["scores"]))
                assert t["std"] == pytest.approx(statistics.pstdev(t["scores"]))
            seed_avgs = [statistics.fmean(s) for s in zip(*[t["scores"] for t in shot["tasks"].values()])]
            assert shot["average"] == pytest.approx(statistics.fmean(seed_avgs))
            assert shot["std"] == pytest.approx(statistics.pstdev(seed_avgs))
        if m["tasks"]:
            assert m["average"] == pytest.approx(statistics.fmean(t["score"] for t in m["tasks"].values()))


@pytest.mark.parametrize("fraction, text", [
    (0.0, "0"), (1.0, "100"), (4.4e-6, "0.00044"), (5.025461545525091e-06, "0.00050"),
    (0.000433230468974882, "0.043"), (0.010962048190191536, "1.1"), (0.079, "7.9"), (0.123, "12"),
])
def test_format_percent(fraction, text):
    assert tables.format_percent(fraction) == text


def test_formats():
    assert [tables.format_count(n) for n in (0, 72, 7168, 90624, 134515008, 8.03e9)] == \
        ["0", "72", "7.17K", "90.6K", "135M", "8.03B"]
    assert [tables.format_bytes(n) for n in (0, 288, 2336, 5898240, 2 * 1024 ** 3)] == \
        ["0 B", "288 B", "2.3 KiB", "5.6 MiB", "2.0 GiB"]
    assert tables.format_mean_std(0.575, 0.025) == "0.575 ± 0.025"
    assert tables.format_mean_std(0.575, 0.0, seeds=1) == "0.575"  # one seed: no spread to show
    assert tables.format_score(None) == "–"


def test_bold_best_compares_displayed_values():
    assert tables.bold_best([0.66, 0.6604, 0.5, None]) == [True, True, False, False]
    assert tables.bold_best([0.1, 0.9]) == [False, True]
    assert tables.bold_best([None, None]) == [False, False]


def test_method_order():
    assert tables.method_order(["mpt", "pt", "adapter-x", "lora", "zero-shot", "full", "mpt-full-prompt"]) == \
        ["zero-shot", "full", "lora", "pt", "mpt-full-prompt", "mpt", "adapter-x"]


def test_task_columns_grouped_by_type(results):
    assert tables.task_columns(results) == [
        Column("med_ner", "ner", "f1"), Column("drug_ner", "ner", "f1"), Column("dose_qa", "qa", "f1"),
        Column("problem_nli", "nli", "macro_f1"), Column("visit_summary", "summarization", "rougeL")]
    assert [c.task for c in tables.task_columns(results, few_shot=True)] == ["med_ner", "dose_qa"]
    assert tables.shot_counts(results) == [0, 4, 16]


def test_main_table(results):
    t = tables.main_table(results)
    assert t.header == ["Method", "NER", "", "QA", "NLI", "Summarization", "Average", "Trainable %", "Params / task"]
    assert t.rows[0] == ["", "med_ner", "drug_ner", "dose_qa", "problem_nli", "visit_summary", "", "", ""]
    assert t.rows[1] == ["", "*f1*", "*f1*", "*f1*", "*macro_f1*", "*rougeL*", "", "", ""]
    assert t.rows[2:] == [
        ["Zero-shot", "0.100", "0.200", "0.300", "0.400", "0.000", "0.200", "0", "0"],
        ["Full fine-tuning", "**0.800**", "0.700", "**0.900**", "0.600", "0.500", "0.700", "100", "135M"],
        ["LoRA", "0.750", "0.720", "0.800", "**0.660**", "0.470", "0.680", "1.1", "1.47M"],
        ["Prompt tuning", "0.600", "0.550", "0.700", "0.500", "0.400", "0.550", "0.043", "57.6K"],
        ["MPT (P*, u, v)", "0.780", "**0.740**", "0.850", "0.640", "0.490", "0.700", "0.043", "58.3K"],
        ["MPT (u, v)", "0.790", "0.700", "0.880", "**0.660**", "**0.520**", "**0.710**", "0.00050", "676"],
        ["adapter-x", "0.500", "–", "0.600", "–", "–", "0.550", "0.0086", "11.5K"],
    ]
    assert len(t.align) == len(t.header)


def test_main_table_without_full_data_rows(results):
    results["methods"]["pt"]["tasks"] = {}
    results["methods"]["pt"]["average"] = None
    assert "Prompt tuning" not in [r[0] for r in tables.main_table(results).rows]


def test_fewshot_table(results):
    t = tables.fewshot_table(results)
    assert t.header == ["Method", "k = 0", "k = 4", "k = 16"]
    assert t.rows == [
        ["LoRA", "–", "0.470 ± 0.020", "0.750 ± 0.020"],
        ["Prompt tuning", "–", "0.350 ± 0.100", "0.575 ± 0.025"],
        ["MPT (u, v)", "**0.400**", "**0.650 ± 0.050**", "**0.780 ± 0.020**"],
    ]


def test_fewshot_task_table(results):
    t = tables.fewshot_task_table(results)
    assert t.header == ["Method, k", "NER", "QA", "Average"]
    assert t.rows[:2] == [["", "med_ner", "dose_qa", ""], ["", "*f1*", "*f1*", ""]]
    assert t.rows[2:] == [
        ["LoRA, k = 4", "0.420 ± 0.020", "0.520 ± 0.020", "0.470 ± 0.020"],
        ["LoRA, k = 16", "0.680 ± 0.020", "0.820 ± 0.020", "0.750 ± 0.020"],
        ["Prompt tuning, k = 4", "0.300 ± 0.100", "0.400 ± 0.100", "0.350 ± 0.100"],
        ["Prompt tuning, k = 16", "0.500 ± 0.000", "0.650 ± 0.050", "0.575 ± 0.025"],
        ["MPT (u, v), k = 0", "0.300", "0.500", "0.400"],
        ["MPT (u, v), k = 4", "0.550 ± 0.050", "0.750 ± 0.050", "0.650 ± 0.050"],
        ["MPT (u, v), k = 16", "0.720 ± 0.020", "0.840 ± 0.020", "0.780 ± 0.020"],
    ]


def test_params_table(results):
    t = tables.params_table(results)
    assert t.rows == [
        ["Zero-shot", "`zero-shot`", "0", "0", "0 B"],
        ["Full fine-tuning", "`full`", "134,515,008", "100", "513.1 MiB"],
        ["LoRA", "`lora`", "1,474,560", "1.1", "5.6 MiB"],
        ["Prompt tuning", "`pt`", "57,600", "0.043", "225.0 KiB"],
        ["MPT (P*, u, v)", "`mpt-full-prompt`", "58,276", "0.043", "227.6 KiB"],
        ["MPT (u, v)", "`mpt`", "676", "0.00050", "2.6 KiB"],
        ["adapter-x", "`adapter-x`", "11,520", "0.0086", "45.0 KiB"],
    ]


def _with_intervals(results):
    for m in results["methods"].values():
        for e in m["tasks"].values():
            e["ci95"] = [round(e["score"] - 0.05, 3), round(e["score"] + 0.05, 3)]
            e.setdefault("metrics", {})["n"] = 128
        if m["average"] is not None:
            m["average_ci95"] = [m["average"] - 0.02, m["average"] + 0.03]
    results["paired"] = [{"a": "mpt", "b": "pt", "setting": "full", "delta": 0.16, "ci95": [0.1, 0.22]},
                         {"a": "mpt", "b": "lora", "setting": "k16", "delta": -0.01, "ci95": [-0.05, 0.03]},
                         {"a": "pt", "b": "lora", "setting": "full", "delta": -0.13, "ci95": [-0.2, -0.07]}]
    return results


def test_main_table_shows_the_average_interval(results):
    row = tables.main_table(_with_intervals(results)).rows[2]
    assert row[0] == "Zero-shot" and row[6] == "0.200 [0.180, 0.230]"


def test_task_interval_table_lists_each_interval_and_n(results):
    t = tables.task_interval_table(_with_intervals(results))
    assert t.rows[2][:3] == ["Zero-shot", "[0.050, 0.150]", "[0.150, 0.250]"]
    assert t.rows[-1][0] == "n (test examples)" and t.rows[-1][1] == "128"


def test_paired_table_says_which_side_an_interval_supports(results):
    t = tables.paired_table(_with_intervals(results))
    assert t.header == ["A", "B", "Setting", "A − B", "95 % CI", "Verdict"]
    assert t.rows == [["MPT (u, v)", "Prompt tuning", "full data", "+0.160", "[0.100, 0.220]", "A better"],
                      ["MPT (u, v)", "LoRA", "k = 16", "-0.010", "[-0.050, 0.030]", "not separated"],
                      ["Prompt tuning", "LoRA", "full data", "-0.130", "[-0.200, -0.070]", "B better"]]


def test_majority_row_comes_first(results):
    results["majority"] = dict(results["methods"]["zero-shot"])
    assert tables.main_table(results).rows[2][0] == "Majority / chance"
    assert tables.main_table(results).rows[3][0] == "Zero-shot"


def test_a_one_seed_k_shot_row_shows_its_mean_without_a_std(results):
    """A run whose k-shot rows hold one seed: the mean (with its interval), never a "± 0.000"."""
    for task in results["methods"]["pt"]["shots"]["16"]["tasks"].values():
        task["scores"], task["std"] = task["scores"][:1], 0.0
    results["methods"]["pt"]["shots"]["16"]["std"] = 0.0
    row = next(r for r in tables.fewshot_table(results).rows if r[0] == "Prompt tuning")
    assert "±" not in row[3] and row[2].count("±") == 1
    per_task = next(r for r in tables.fewshot_task_table(results).rows if r[0] == "Prompt tuning, k = 16")
    assert not any("±" in cell for cell in per_task[1:])
