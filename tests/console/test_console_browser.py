"""End to end in headless Chromium against the live server: try each task type, the library page, the
ROI calculator (its numbers are `clinical-mpt roi --json`'s), errors, the API key, accessibility.

Skipped, with the reason, where `chromium` or playwright is missing. CLINICAL_MPT_SCREENSHOTS=docs/img
makes the run save the screenshots shown in the README.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

from console_fixtures import RUN_COMMAND, TASKS, screenshot

from clinical_mpt.roi import human_bytes, human_count, human_percent


def open_task(page, url: str, task: str, sample: int | None = 0):
    page.goto(f"{url}/#try")
    page.wait_for_selector(f"#task option[value='{task}']", state="attached")
    page.select_option("#task", task)
    if sample is not None:
        page.select_option("#sample", str(sample))


def run(page):
    """Submit, and wait for this answer (not the one already shown)."""
    done = int(page.get_attribute("#result", "data-run") or 0)
    page.click("#run")
    page.wait_for_selector(f"#result[data-run='{done + 1}']:not([hidden])")


def test_ner_entities_are_highlighted_with_a_legend(page, console_server):
    open_task(page, console_server.url, "med_ner")
    groups = page.eval_on_selector_all("#task optgroup", "gs => gs.map(g => g.label)")
    assert groups == ["Named entities", "Relations", "Inference (NLI)", "Question answering", "Multiple choice",
                      "Summarization"]
    assert page.input_value("#input-text") == "Pt started on metformin 500 mg PO daily for type 2 diabetes."
    page.fill("#input-text", "Pt started on metformin 500 mg PO daily for type 2 diabetes; aspirin 81 mg held.")
    run(page)
    marks = page.eval_on_selector_all("mark.ent", "ms => ms.map(m => [m.dataset.type, m.firstChild.textContent, "
                                                   "getComputedStyle(m).backgroundColor])")
    assert [m[:2] for m in marks] == [["Drug", "metformin"], ["Strength", "500 mg"], ["Problem", "type 2 diabetes"],
                                      ["Drug", "aspirin"], ["Strength", "81 mg"]]
    colours = {t: c for t, _, c in marks}
    assert len(set(colours.values())) == 3 and marks[0][2] == marks[3][2]  # one colour per type
    legend = page.eval_on_selector_all(".legend li", "ls => ls.map(l => l.textContent)")
    assert legend == ["Drug (2)", "Strength (2)", "Problem (1)"]
    assert re.fullmatch(r"Latency \d+ ms", page.inner_text("#result-meta .latency"))
    assert page.inner_text("#result-meta .params") == "68 trainable parameters"
    assert "Drug: metformin" in page.text_content("#result-raw")  # in a closed <details>
    screenshot(page, "try")


def test_every_task_type_renders_its_answer(page, console_server):
    open_task(page, console_server.url, "drug_re")
    run(page)
    rows = page.eval_on_selector_all("tr.relation", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert rows == [["500 mg", "→ Strength-Drug →", "metformin"]]

    page.select_option("#task", "problem_nli")
    page.select_option("#sample", "1")
    run(page)
    assert page.inner_text("#nli-label") == "contradiction"

    page.select_option("#task", "drug_mcqa")
    page.select_option("#sample", "0")
    assert page.input_value("#input-options") == "A. aspirin\nB. heparin\nC. warfarin\nD. insulin"
    run(page)
    assert page.get_attribute(".option.chosen", "data-key") == "C"
    assert page.inner_text(".answer-line") == "Chosen option: C"

    page.select_option("#task", "dose_qa")
    page.select_option("#sample", "0")
    run(page)
    assert page.inner_text("#result-body .answer") == "5000 units"

    page.select_option("#task", "note_summary")
    page.select_option("#sample", "0")
    run(page)
    source, summary = page.inner_text(".side-by-side .source"), page.inner_text(".side-by-side .summary")
    assert source.startswith("68-year-old man")
    assert summary == "68-year-old man admitted with community-acquired pneumonia."
    boxes = page.eval_on_selector_all(".side-by-side figure", "fs => fs.map(f => f.getBoundingClientRect().top)")
    assert len(boxes) == 2 and boxes[0] == boxes[1]  # beside each other, not stacked


def test_api_errors_are_shown_not_dropped(page, console_server):
    open_task(page, console_server.url, "problem_nli", sample=None)
    page.fill("#input-premise", "Admitted with pneumonia.")
    page.click("#run")
    page.wait_for_selector("#error:not([hidden])")
    assert "needs a non-empty string 'hypothesis'" in page.inner_text("#error")
    assert "HTTP 422" in page.inner_text("#error") and page.get_attribute("#error", "role") == "alert"

    page.select_option("#task", "med_ner")
    page.fill("#input-text", "x" * 2001)
    page.click("#run")
    page.locator("#error", has_text="the limit is 2000").wait_for()  # (no wait_for_function: CSP forbids eval)

    page.select_option("#task", "drug_mcqa")
    page.fill("#input-question", "Which drug?")
    page.fill("#input-options", "A. aspirin\nheparin")
    page.click("#run")
    page.locator("#error", has_text="options, line 2").wait_for()


def test_api_key_is_asked_for_and_sent(page, keyed_server):
    page.goto(keyed_server.url)
    page.wait_for_selector("#error:not([hidden])")
    assert "missing or invalid API key" in page.inner_text("#error")
    page.fill("#api-key", "s3cret-key")
    page.press("#api-key", "Enter")
    page.wait_for_selector("#task option[value='med_ner']", state="attached")
    assert page.is_hidden("#error")
    page.select_option("#sample", "0")
    run(page)
    assert page.eval_on_selector_all("mark.ent", "ms => ms.length") == 3


def test_library_page_lists_every_task(page, console_server, tiny_backbone):
    page.goto(f"{console_server.url}/#library")
    page.wait_for_selector("#library-table tbody tr")
    rows = {r[0]: r[1:] for r in page.eval_on_selector_all(
        "#library-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")}
    assert sorted(rows) == sorted(TASKS)
    sha = tiny_backbone.fingerprint.embedding_sha256[:12]
    assert rows["med_ner"][:6] == ["ner", "mpt", "4", "68", "f1 0.813", "f1 0.750"]
    assert rows["problem_nli"][4:6] == ["macro_f1 0.600", "—"]
    assert rows["drug_mcqa"][5] == "accuracy 1.000" and rows["drug_re"][3] == "256"
    assert all(sha in r[6] and "LlamaForCausalLM" in r[6] for r in rows.values())
    assert rows["med_ner"][7] == RUN_COMMAND and rows["note_summary"][7] == "not recorded"
    assert page.get_attribute(".tabs a[data-page='library']", "aria-current") == "page"
    screenshot(page, "library")


def roi_cells(page) -> dict:
    """{method: {result key: (exact value from data-value, displayed text)}} of the ROI table."""
    rows = page.eval_on_selector_all("#roi-table tbody tr", """rs => rs.map(r => [r.dataset.method,
        [...r.querySelectorAll('td')].map(c => [c.dataset.key, c.dataset.value, c.textContent])])""")
    return {method: {key: (json.loads(value), text) for key, value, text in cells} for method, cells in rows}


def check_roi_against_cli(page) -> dict:
    command = page.inner_text("#roi-command")
    assert command.startswith("clinical-mpt roi ") and command.endswith(" --json")
    proc = subprocess.run([sys.executable, "-m", "clinical_mpt", *shlex.split(command)[1:]], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    cli = json.loads(proc.stdout)
    cells = roi_cells(page)
    fmt = {"trainable_parameters_per_task": human_count, "trainable_fraction": human_percent,
           "storage_bytes_per_task": human_bytes, "storage_bytes_total": human_bytes,
           "serving_memory_bytes": human_bytes, "training_memory_bytes": human_bytes}
    for method, row in cli["methods"].items():
        assert len(cells[method]) >= 9
        for key, (value, text) in cells[method].items():
            assert value == row[key], (method, key)  # the exact numbers of `clinical-mpt roi --json`
            if key in fmt:
                assert text == fmt[key](value), (method, key)  # and the CLI table's rounding
    return cli


def test_roi_page_shows_the_cli_numbers(page, console_server):
    page.goto(f"{console_server.url}/#roi")
    page.select_option("#roi-backbone", "llama-3.1-8b")
    page.fill("#roi-tasks", "12")
    page.fill("#roi-prompt-length", "50")
    page.fill("#roi-lora-rank", "16")
    page.fill("#roi-requests", "5000")
    page.fill("#roi-price", "2.5")
    page.click("#roi-run")
    page.wait_for_selector("#roi-result:not([hidden])")
    cli = check_roi_against_cli(page)
    assert cli["inputs"]["n_tasks"] == 12 and cli["inputs"]["gpu_price_per_hour"] == 2.5
    assert page.inner_text("#roi-table tr[data-method='full'] td[data-key='serving_gpus']") == "3"
    bars = page.eval_on_selector_all("#roi-chart rect",
                                     "rs => rs.map(r => [r.dataset.method, +r.getAttribute('width')])")
    assert len(bars) == 16  # 4 panels (parameters, storage, GPUs, cost) x 4 methods
    params = dict(bars[:4])
    assert params["mpt"] < params["pt"] < params["lora"] < params["full"]
    assert "log scale" in page.inner_text("#roi-chart")
    screenshot(page, "roi")


def test_roi_local_config_and_bad_values(page, console_server, tmp_path):
    config = {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 1024,
              "intermediate_size": 2816, "num_hidden_layers": 8, "num_attention_heads": 16,
              "num_key_value_heads": 4, "vocab_size": 32000, "sliding_window": 512}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    page.goto(f"{console_server.url}/#roi")
    assert page.is_hidden("#roi-config")
    page.select_option("#roi-backbone", "local")
    assert page.is_visible("#roi-config")
    page.set_input_files("#roi-config", str(path))
    page.fill("#roi-price", "")
    page.click("#roi-run")
    page.wait_for_selector("#roi-result:not([hidden])")
    page.evaluate(f"document.querySelector('#roi-command').textContent = "
                  f"document.querySelector('#roi-command').textContent.replace('config.json', {json.dumps(str(path))})")
    check_roi_against_cli(page)
    assert page.eval_on_selector_all("#roi-chart rect", "rs => rs.length") == 12  # no price: no cost panel

    page.fill("#roi-tasks", "0")
    page.click("#roi-run")
    page.wait_for_selector("#error:not([hidden])")
    assert "n_tasks (--tasks) must be an integer >= 1" in page.inner_text("#error")


def test_controls_are_labelled_keyboard_reachable_and_readable(page, console_server):
    page.goto(console_server.url)
    page.wait_for_selector("#task option[value='med_ner']", state="attached")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(c => c.labels.length === 0 && !c.getAttribute('aria-label')).map(c => c.id)""")
    assert unlabelled == []
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert reached[:4] == ["Skip to content", "Try a task", "Library", "ROI calculator"]
    assert {"api-key", "task", "sample", "input-text", "run"} <= set(reached)
    page.focus(".tabs a[data-page='roi']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#page-roi:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "roi-title"
    ratios = page.evaluate("""() => {
        const rgb = s => s.match(/\\d+/g).slice(0, 3).map(Number).map(v => v / 255)
            .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        const lum = s => { const [r, g, b] = rgb(s); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
        const pairs = {body: 'body', muted: '.muted', button: '#roi-run', tab: ".tabs a[aria-current='page']",
                       link: ".tabs a:not([aria-current])", label: "label[for='roi-tasks']"};
        const out = {};
        for (const [name, sel] of Object.entries(pairs)) {
            const node = document.querySelector(sel);
            let bg = 'rgba(0, 0, 0, 0)', at = node;
            while (at && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) {
                bg = getComputedStyle(at).backgroundColor;
                at = at.parentElement;
            }
            if (/rgba\\(0, 0, 0, 0\\)/.test(bg)) bg = 'rgb(255, 255, 255)';
            out[name] = ratio(getComputedStyle(node).color, bg);
        }
        return out;
    }""")
    assert all(r >= 4.5 for r in ratios.values()), ratios
