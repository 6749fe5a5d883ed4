"""`clinical-mpt report`: tables and plots of a finished run, ready for a paper or a README.

    clinical-mpt report runs/quickstart                 # writes into the run folder
    clinical-mpt report runs/quickstart --out docs/results

Reads DIR/results.json (and the training logs under DIR) and writes report.md (Table 2 layout:
methods x target tasks grouped by type, average, trainable %; few-shot mean ± std; parameter
accounting), results.csv (one row per method, setting, task) and plot_tasks.png, plot_fewshot.png,
plot_loss.png.
"""

from __future__ import annotations


def configure(parser) -> None:
    parser.add_argument("run_dir", metavar="DIR", help="the run folder (the --out of `clinical-mpt run`), holding results.json")
    parser.add_argument("--out", metavar="OUT_DIR", help="write the report here instead of into DIR")
    parser.add_argument("--no-plots", action="store_true", help="write only report.md and results.csv (no matplotlib)")


def main(args) -> int:
    from clinical_mpt.report import write_report

    written = write_report(args.run_dir, args.out, plots=not args.no_plots)
    for name, path in written.items():
        print(f"wrote {path}")
    return 0
