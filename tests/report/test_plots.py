"""The PNG plots: written atomically, valid PNG files of a sensible size; skipped when there is no data."""

from __future__ import annotations

import struct

from clinical_mpt.report.logs import LossLogs, collect_logs
from clinical_mpt.report.plots import plot_fewshot, plot_loss, plot_tasks

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    assert len(data) > 10_000  # a drawn figure, not an empty canvas
    return struct.unpack(">II", data[16:24])


def no_temp_files(folder) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_plot_tasks(results, tmp_path):
    assert plot_tasks(results, tmp_path / "plot_tasks.png")
    w, h = png_size(tmp_path / "plot_tasks.png")
    assert 700 <= w <= 2400 and 400 <= h <= 1200
    assert no_temp_files(tmp_path)


def test_plot_fewshot(results, tmp_path):
    assert plot_fewshot(results, tmp_path / "plot_fewshot.png")
    w, h = png_size(tmp_path / "plot_fewshot.png")
    assert 500 <= w <= 1600 and 400 <= h <= 1000


def test_plot_fewshot_skipped_without_kshot(results, tmp_path):
    for m in results["methods"].values():
        m["shots"] = {}
    assert not plot_fewshot(results, tmp_path / "plot_fewshot.png")
    assert not (tmp_path / "plot_fewshot.png").exists()


def test_plot_tasks_skipped_without_full_data(results, tmp_path):
    for m in results["methods"].values():
        m["tasks"], m["average"] = {}, None
    assert not plot_tasks(results, tmp_path / "plot_tasks.png")
    assert list(tmp_path.iterdir()) == []


def test_plot_loss(fixture_run, tmp_path):
    assert plot_loss(collect_logs(fixture_run), tmp_path / "plot_loss.png", "fixture-study")
    w, h = png_size(tmp_path / "plot_loss.png")  # 4 panels: teachers, distill, full, k = 4 -> 3 x 2 grid
    assert 1200 <= w <= 2400 and 600 <= h <= 1400
    assert not plot_loss(LossLogs(), tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_plot_loss_many_teachers(tmp_path):
    logs = LossLogs(teachers={f"task{i}": [(1, 5.0 - i / 10), (2, 4.0 - i / 10)] for i in range(12)})
    assert plot_loss(logs, tmp_path / "plot_loss.png")
    png_size(tmp_path / "plot_loss.png")
