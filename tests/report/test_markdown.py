"""report.md from the fixture: header facts, the tables as a markdown reader sees them, notes, images."""

from __future__ import annotations

from clinical_mpt.report.markdown import render_report, render_table
from clinical_mpt.report.tables import Table

PLOTS = {"plot_tasks.png": None, "plot_fewshot.png": None, "plot_loss.png": None}


def md_table(text: str, heading: str) -> list[list[str]]:
    """The cells of the first table after `heading` (header first, the |---| rule dropped)."""
    lines = text[text.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    assert set("".join(rows[1])) <= set("-: "), rows[1]
    return [rows[0], *rows[2:]]


def test_render_table_aligns_and_escapes():
    text = render_table(Table(["name", "score"], [["a|b", "0.5"]], ["l", "r"]))
    assert text.splitlines() == ["| name | score |", "| ---- | ----: |", "| a\\|b |   0.5 |"]


def test_header(results):
    text = render_report(results, PLOTS)
    assert text.startswith("# Results: fixture-study\n")
    for fact in ["`HuggingFaceTB/SmolLM2-135M`", "LlamaForCausalLM", "135M parameters", "**dtype:** float32",
                 "**Evaluation split:** test", "k = 0, 4, 16 (seeds 0, 1)", "3725.4 s (1 h 2 min)",
                 "`0123456789abcdef…`", "**Config:** `fixture-study`"]:
        assert fact in text
    assert "recorded over all stages" not in text  # no compute_seconds in this results.json
    text = render_report(dict(results, compute_seconds=11186.4), PLOTS)
    assert "3725.4 s (1 h 2 min) (this command); 11186.4 s (3 h 6 min) recorded over all stages" in text


def test_main_table_in_markdown(results):
    rows = md_table(render_report(results, PLOTS), "## Target tasks, full data")
    assert rows[0] == ["Method", "NER", "", "QA", "NLI", "Summarization", "Average", "Trainable %", "Params / task"]
    assert rows[1][1:6] == ["med_ner", "drug_ner", "dose_qa", "problem_nli", "visit_summary"]
    assert rows[2][1:6] == ["*f1*", "*f1*", "*f1*", "*macro_f1*", "*rougeL*"]
    assert [r[0] for r in rows[3:]] == ["Zero-shot", "Full fine-tuning", "LoRA", "Prompt tuning",
                                        "MPT (P\\*, u, v)", "MPT (u, v)", "adapter-x"]
    bold = {(r[0], rows[1][j]) for r in rows[3:] for j, c in enumerate(r) if c.startswith("**")}
    assert bold == {("Full fine-tuning", "med_ner"), ("MPT (P\\*, u, v)", "drug_ner"), ("Full fine-tuning", "dose_qa"),
                    ("LoRA", "problem_nli"), ("MPT (u, v)", "problem_nli"), ("MPT (u, v)", "visit_summary"),
                    ("MPT (u, v)", "")}  # "" = the Average column
    assert rows[8] == ["MPT (u, v)", "0.790", "0.700", "0.880", "**0.660**", "**0.520**", "**0.710**", "0.00050", "676"]


def test_fewshot_tables_in_markdown(results):
    text = render_report(results, PLOTS)
    rows = md_table(text, "## Few-shot")
    assert rows == [["Method", "k = 0", "k = 4", "k = 16"],
                    ["LoRA", "–", "0.470 ± 0.020", "0.750 ± 0.020"],
                    ["Prompt tuning", "–", "0.350 ± 0.100", "0.575 ± 0.025"],
                    ["MPT (u, v)", "**0.400**", "**0.650 ± 0.050**", "**0.780 ± 0.020**"]]
    assert "average 0.200 at every k" in text  # zero-shot
    per_task = md_table(text, "### Few-shot, per task")
    assert per_task[-1] == ["MPT (u, v), k = 16", "0.720 ± 0.020", "0.840 ± 0.020", "0.780 ± 0.020"]
    params = md_table(text, "## Parameter accounting")
    assert params[6] == ["MPT (u, v)", "`mpt`", "676", "0.00050", "2.6 KiB"]


def test_images_and_notes(results):
    text = render_report(results, PLOTS)
    for name in PLOTS:
        assert f"]({name})" in text
    text = render_report(results, {"plot_tasks.png": None, "plot_loss.png": "No training logs found."},
                         ["2 unreadable log line(s) were skipped."])
    assert "](plot_fewshot.png)" not in text and "](plot_loss.png)" not in text
    assert "*No training logs found.*" in text and "*2 unreadable log line(s) were skipped.*" in text


def test_no_fewshot_and_no_full_data(results):
    for m in results["methods"].values():
        m["shots"] = {}
    text = render_report(results, {})
    assert "No k-shot results in this run" in text and "k = 4" not in text
    for m in results["methods"].values():
        m["tasks"], m["average"] = {}, None
    text = render_report(results, {})
    assert "No full-data results in this run" in text and "## Parameter accounting" in text


def test_report_has_a_paired_section_only_when_the_run_has_paired_entries(results):
    assert "## Paired differences" not in render_report(results, {})
    results["paired"] = [{"a": "mpt", "b": "pt", "setting": "k16", "delta": 0.05, "ci95": [0.01, 0.09]}]
    text = render_report(results, {})
    assert "## Paired differences" in text and "| MPT (u, v) | Prompt tuning | k = 16" in text
    assert "paired bootstrap" in text
