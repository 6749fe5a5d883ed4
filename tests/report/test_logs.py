"""Loss curves from the fixture's log.jsonl files (re-run segments, bad lines, mean over tasks/seeds)."""

from __future__ import annotations

from clinical_mpt.report.logs import collect_logs, mean_curve, setting_group, stage_curves


def test_stage_curves_keep_the_last_run():
    rows = [{"stage": "pt a", "step": 1, "loss": 9.0}, {"stage": "pt a", "step": 2, "loss": 8.0},
            {"stage": "pt b", "step": 1, "loss": 1.0},
            {"stage": "pt a", "step": 1, "loss": 6.0}, {"stage": "pt a", "step": 3, "loss": 5.0}]
    assert stage_curves(rows) == {"pt a": [(1, 6.0), (3, 5.0)], "pt b": [(1, 1.0)]}
    assert stage_curves([{"stage": "d", "step": 1, "loss": 1.0, "kl": 0.5}, {"stage": "d", "step": 2, "loss": 1.0}],
                        "kl") == {"d": [(1, 0.5)]}


def test_mean_curve():
    assert mean_curve([[(1, 2.0), (2, 1.0)], [(1, 4.0), (2, 3.0), (3, 5.0)]]) == [(1, 3.0), (2, 2.0), (3, 5.0)]
    assert mean_curve([]) == []


def test_setting_group():
    assert [setting_group(s) for s in ("full", "k4-s0", "k16-s3", "k0", "other")] == ["full", "4", "16", None, None]


def test_collect_logs(fixture_run):
    logs = collect_logs(fixture_run)
    assert logs.teachers == {"med_ner": [(1, 4.0), (2, 3.0)], "problem_nli": [(1, 5.0), (2, 2.0)]}
    assert logs.distill == {"loss": [(1, 3.5), (2, 2.25)], "lm": [(1, 3.0), (2, 2.0)],
                            "kl": [(1, 0.4), (2, 0.2)], "mse": [(1, 0.1), (2, 0.05)]}
    assert list(logs.targets) == ["full", "4"]
    assert logs.targets["full"] == {"mpt": [(1, 3.0), (2, 2.0)],  # mean of med_ner and dose_qa
                                    "pt": [(1, 6.0), (2, 5.0)]}   # the re-run only
    assert logs.targets["4"] == {"mpt": [(1, 4.0), (2, 3.0)]}     # mean over seeds 0 and 1
    assert logs.skipped == 1                                       # the line cut short in targets/pt/full


def test_collect_logs_of_a_folder_without_logs(tmp_path):
    logs = collect_logs(tmp_path)
    assert logs.empty() and logs.skipped == 0
