"""`clinical-mpt data convert` on real public corpora: every row of ../shared/real-samples/README.md.

The samples were written by their corpora's authors, not by this project, and are never copied into
this repository (several licences are non-commercial): the tests read them from
`<repo>/../shared/real-samples` (where CI puts shared/ beside the clone) and are skipped when that
folder is absent. Each conversion runs the real CLI; its output is checked against the raw files,
read here independently of the loaders: entity offsets against the text, answer keys against the
source's own answer fields, and counts.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clinical_mpt.data.canonical import validate_examples
from clinical_mpt.data.jsonl import read_jsonl

REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "real-samples"
LETTERS = "ABCDEFGHIJ"

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"no real samples at {REAL}")


def convert(tmp_path: Path, fmt: str, source: Path, *options: str) -> tuple[int, str, list[dict]]:
    """Run `clinical-mpt data convert`; (exit code, stderr, converted rows or [] on failure)."""
    out = tmp_path / f"{source.stem}.jsonl"
    proc = subprocess.run([sys.executable, "-m", "clinical_mpt", "data", "convert", "--format", fmt, str(source),
                           "--out", str(out), *options], capture_output=True, text=True, timeout=120, check=False)
    rows = read_jsonl(out) if proc.returncode == 0 else []
    if proc.returncode == 0:
        validate_examples(rows, str(out))
    return proc.returncode, proc.stderr, rows


def converted(tmp_path: Path, fmt: str, source: Path, *options: str) -> tuple[list[dict], str]:
    code, err, rows = convert(tmp_path, fmt, source, *options)
    assert code == 0, err
    assert f"wrote {len(rows)} " in err
    return rows, err


def refused(tmp_path: Path, fmt: str, source: Path, *options: str) -> str:
    """The one `error:` line of a refused conversion (exit 2, no output file)."""
    code, err, _ = convert(tmp_path, fmt, source, *options)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert not (tmp_path / f"{source.stem}.jsonl").exists()
    return lines[0]


def sample(*parts: str) -> Path:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not in this copy of the real samples")
    return path


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---- BRAT ----------------------------------------------------------------------------------------

def raw_brat(ann: Path, text: str) -> tuple[list[tuple], int, dict[str, tuple]]:
    """From a raw .ann: (entities as (type, fragments, mention) for spans that cover text,
    the number of zero-width T lines, {T id: entity} for the kept ones)."""
    kept, by_id, zero = [], {}, 0
    for line in ann.read_text(encoding="utf-8-sig").splitlines():
        if not line.startswith("T"):
            continue
        ent_id, info, mention = line.split("\t", 2)
        ent_type, spans = info.split(" ", 1)
        frags = [[int(n) for n in piece.split()] for piece in spans.split(";")]
        if any(a == b for a, b in frags):
            zero += 1
            continue
        ent = (ent_type, frags, mention)
        kept.append(ent)
        by_id[ent_id.strip()] = ent
    return kept, zero, by_id


def raw_relations(ann: Path, by_id: dict) -> list[tuple]:
    """(type, head mention fragments, tail fragments) of every R line between kept T entities."""
    out = []
    for line in ann.read_text(encoding="utf-8-sig").splitlines():
        if line.startswith("R"):
            rel_type, arg1, arg2 = line.split("\t")[1].split()
            head, tail = arg1.split(":", 1)[1], arg2.split(":", 1)[1]
            if head in by_id and tail in by_id:
                out.append((rel_type, by_id[head][1], by_id[tail][1]))
    return out


def bounds(frags: list[list[int]]) -> tuple[int, int]:
    return min(a for a, _ in frags), max(b for _, b in frags)


def check_brat_folder(folder: Path, rows: list[dict]) -> tuple[int, int]:
    """Every document's entities and relations equal the raw .ann's, and every entity's text is the
    document's text at its fragments. Returns (entities, zero-width lines) over the folder."""
    assert sorted(r["id"] for r in rows) == sorted(p.stem for p in folder.glob("*.ann"))
    n_entities, n_zero = 0, 0
    for doc in rows:
        ann = folder / f"{doc['id']}.ann"
        text = (folder / f"{doc['id']}.txt").read_bytes().decode("utf-8")
        assert doc["text"] == text
        expected, zero, by_id = raw_brat(ann, text)
        got = []
        for ent in doc["entities"]:
            frags = ent.get("fragments", [[ent["start"], ent["end"]]])
            assert ent["text"] == " ".join(text[a:b] for a, b in frags)
            assert (ent["start"], ent["end"]) == bounds(frags)
            got.append((ent["type"], frags))
        assert sorted(got) == sorted((t, f) for t, f, _ in expected)
        for ent_type, frags, mention in expected:
            assert " ".join(mention.split()) == " ".join(" ".join(text[a:b] for a, b in frags).split())
        if doc["type"] == "re":
            want = sorted((t, bounds(head), bounds(tail)) for t, head, tail in raw_relations(ann, by_id))
            have = sorted((r["type"], (r["head"]["start"], r["head"]["end"]), (r["tail"]["start"], r["tail"]["end"]))
                          for r in doc["relations"])
            assert have == want
        n_entities, n_zero = n_entities + len(expected), n_zero + zero
    return n_entities, n_zero


@pytest.mark.parametrize("name", ["BioNLP-ST_2011_GE", "BioNLP-ST_2011_REL", "NCBI-disease", "TDT", "tutorial-bio"])
def test_brat_example_data_converts_with_exact_offsets(tmp_path, name):
    folder = sample("brat-example-data", name)
    rows, _ = converted(tmp_path, "brat", folder, "--type", "re")
    n_entities, _ = check_brat_folder(folder, rows)
    assert n_entities > 0


@pytest.mark.parametrize("name", ["docs-brat", "tests-brat"])
def test_medkit_fixtures_convert(tmp_path, name):
    folder = sample("medkit", name)
    rows, _ = converted(tmp_path, "brat", folder, "--type", "re")
    check_brat_folder(folder, rows)
    assert any("fragments" in e for doc in rows for e in doc["entities"])  # '251 260;263 264'


def test_pgxcorpus_in_order_discontinuous_converts(tmp_path):
    folder = sample("pgxcorpus", "converts")
    rows, _ = converted(tmp_path, "brat", folder, "--type", "re")
    check_brat_folder(folder, rows)
    assert len(rows) == 50 and sum(len(d["relations"]) for d in rows) > 0


def test_pgxcorpus_fragments_listed_high_to_low_are_kept(tmp_path):
    folder = sample("pgxcorpus", "out-of-order")
    rows, _ = converted(tmp_path, "brat", folder, "--type", "re")
    check_brat_folder(folder, rows)
    descending = [e for doc in rows for e in doc["entities"] if
                  e.get("fragments", []) != sorted(e.get("fragments", []))]
    assert len(rows) == 25 and len(descending) >= 25  # each of the 25 documents has at least one
    doc = next(d for d in rows if d["id"] == "10070957_8")
    assert any(e.get("fragments") == [[116, 125], [73, 82]] and e["text"] == "estradiol levels of"
               for e in doc["entities"])


def test_medacy_zero_width_spans_are_dropped_and_counted(tmp_path):
    folder = sample("medacy", "end-drug-labels")
    rows, err = converted(tmp_path, "brat", folder, "--type", "re")
    _, n_zero = check_brat_folder(folder, rows)
    assert n_zero > 0
    assert f"dropped {n_zero} zero-width annotation(s)" in err


def test_medacy_text_that_lost_its_characters_is_refused(tmp_path):
    line = refused(tmp_path, "brat", sample("medacy", "sample_dataset_1"))
    assert "PMC1257590.ann:18: mention '17β -E2' does not match the text at 748 755 ('17  -E2')" in line


# ---- i2b2 2010 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ex_doc", "single"])
def test_cliner_i2b2_concepts_convert_with_exact_offsets(tmp_path, name):
    folder = sample("cliner-i2b2", name)
    [doc], _ = converted(tmp_path, "i2b2-2010", folder)
    text = (folder / "txt" / f"{name}.txt").read_bytes().decode("utf-8")
    assert doc["text"] == text
    concepts = [line for line in (folder / "concept" / f"{name}.con").read_text().splitlines() if line.strip()]
    assert len(doc["entities"]) == len(concepts)
    lines = text.split("\n")
    starts = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
    expected = []
    for con in concepts:  # recompute offsets from line:token positions, independently of the loader
        m = re.fullmatch(r'c="(.*)" (\d+):(\d+) (\d+):(\d+)\|\|t="(.*)"', con.strip())
        l1, t1, l2, t2 = (int(g) for g in m.groups()[1:5])
        start = starts[l1 - 1] + [x.start() for x in re.finditer(r"\S+", lines[l1 - 1])][t1]
        end = starts[l2 - 1] + [x.end() for x in re.finditer(r"\S+", lines[l2 - 1])][t2]
        assert " ".join(text[start:end].lower().split()) == " ".join(m.group(1).lower().split())
        expected.append((start, end, m.group(6)))
    assert sorted((e["start"], e["end"], e["type"]) for e in doc["entities"]) == sorted(expected)
    assert all(text[e["start"]:e["end"]] == e["text"] for e in doc["entities"])


# ---- NLI -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["spinn_test_snli.jsonl", "allennlp_snli_dev.jsonl"])
def test_snli_converts_with_its_labels(tmp_path, name):
    source = sample("snli", name)
    rows, _ = converted(tmp_path, "mednli", source)
    raw = json_lines(source)
    assert [(r["id"], r["premise"], r["hypothesis"], r["label"]) for r in rows] == \
        [(x["pairID"], x["sentence1"], x["sentence2"], x["gold_label"]) for x in raw]


def test_rte_schema_is_refused_as_a_missing_field(tmp_path):
    line = refused(tmp_path, "mednli", sample("snli", "allennlp_superglue_rte.jsonl"))
    assert "allennlp_superglue_rte.jsonl:1: missing field 'gold_label'" in line
    assert "premise, hypothesis, label" in line and "expected one JSON object per line with pairID" in line


# ---- SQuAD ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, n, unanswerable", [
    ("allennlp_squad.json", 5, 0), ("allennlp_squad2.json", 5, 1), ("allennlp_quoref_sample.json", 4, 0)])
def test_squad_forms_convert_and_count_unanswerable(tmp_path, name, n, unanswerable):
    source = sample("squad", name)
    rows, err = converted(tmp_path, "squad", source)
    assert len(rows) == n
    assert (f"skipped {unanswerable} unanswerable" in err) == (unanswerable > 0)
    answerable = [(para, qa) for article in json.loads(source.read_text())["data"]
                  for para in article["paragraphs"] for qa in para["qas"]
                  if qa["answers"] and not qa.get("is_impossible")]
    assert len(answerable) == n
    for row, (para, qa) in zip(rows, answerable):
        assert (row["id"], row["question"], row["context"]) == (qa["id"], qa["question"], para["context"])
        assert row["answers"] == list(dict.fromkeys(a["text"] for a in qa["answers"]))
        for a in qa["answers"]:
            assert para["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]


# ---- multiple choice -----------------------------------------------------------------------------

MEDAGENTS = ["afrimedqa_sampled_50.jsonl", "medmcqa_sampled_50.jsonl", "medqa_sampled_50.jsonl",
             "pubmedqa_sampled_50.jsonl", "medqa_test_lines701-720.jsonl", "medmcqa_test_lines906-925.jsonl"]


@pytest.mark.parametrize("name", MEDAGENTS)
def test_medagents_letter_field_gives_the_source_keys(tmp_path, name):
    source = sample("medagents-benchmark", name)
    rows, _ = converted(tmp_path, "mcqa-jsonl", source, "--answer-field", "answer_idx")
    raw = json_lines(source)
    assert len(rows) == len(raw)
    assert [r["answer"] for r in rows] == [x["answer_idx"] for x in raw]
    assert [r["options"] for r in rows] == [x["options"] for x in raw]


@pytest.mark.parametrize("name", MEDAGENTS[:4])
def test_medagents_text_answers_give_the_same_keys(tmp_path, name):
    source = sample("medagents-benchmark", name)
    rows, _ = converted(tmp_path, "mcqa-jsonl", source, "--answer-field", "answer")
    assert [r["answer"] for r in rows] == [x["answer_idx"] for x in json_lines(source)]


def test_medqa_answer_that_is_also_an_option_key_is_never_keyed_silently(tmp_path):
    source = sample("medagents-benchmark", "medqa_test_lines701-720.jsonl")
    line10 = json_lines(source)[9]
    assert line10["options"] == {"A": "B", "B": "C", "C": "D", "D": "E"} and line10["answer"] == "B"
    line = refused(tmp_path, "mcqa-jsonl", source, "--answer-field", "answer")
    assert "medqa_test_lines701-720.jsonl:10: answer 'B' is ambiguous" in line
    assert "as key it names option B, as text it names option A" in line and "--answer-as" in line
    rows, _ = converted(tmp_path, "mcqa-jsonl", source, "--answer-field", "answer", "--answer-as", "text")
    assert rows[9]["answer"] == line10["answer_idx"] == "A"
    assert [r["answer"] for r in rows] == [x["answer_idx"] for x in json_lines(source)]


def test_medmcqa_answer_matching_several_options_is_refused(tmp_path):
    line = refused(tmp_path, "mcqa-jsonl", sample("medagents-benchmark", "medmcqa_test_lines906-925.jsonl"),
                   "--answer-field", "answer")
    assert "medmcqa_test_lines906-925.jsonl:10: answer '| TIBC, | Ferritin, | Transferrin saturation' matches " \
           "several options ['A', 'B', 'C', 'D']" in line


@pytest.mark.parametrize("name", ["medbullets_op4_first100.jsonl", "medbullets_op5_first100.jsonl"])
def test_medbullets_jsonl_letter_and_text_answers_agree(tmp_path, name):
    source = sample("medbullets", name)
    raw = json_lines(source)
    columns = "opa,opb,opc,opd,ope"
    by_letter, _ = converted(tmp_path, "mcqa-jsonl", source, "--options-field", columns, "--answer-field", "answer_idx")
    by_text, _ = converted(tmp_path, "mcqa-jsonl", source, "--options-field", columns, "--answer-field", "answer")
    assert len(by_letter) == len(raw) == 100
    assert [r["answer"] for r in by_letter] == [r["answer"] for r in by_text] == [x["answer_idx"] for x in raw]
    assert all(r["options"][r["answer"]].strip() == x["answer"].strip() for r, x in zip(by_letter, raw))


def test_medbullets_csv_with_multiline_cells(tmp_path):
    source = sample("medbullets", "medbullets_op5.csv")
    rows, _ = converted(tmp_path, "csv", source, "--text-field", "question", "--summary-field", "explanation")
    raw = list(csv.DictReader(io.StringIO(source.read_bytes().decode("utf-8"), newline="")))
    assert len(rows) == len(raw) == 308
    assert [(r["text"], r["summary"]) for r in rows] == [(x["question"], x["explanation"]) for x in raw]


def test_headqa_native_json_every_answer_right_ids_unique(tmp_path):
    source = sample("headqa", "dev_HEAD_EN.json")
    rows, _ = converted(tmp_path, "headqa", source)
    exams = json.loads(source.read_text(encoding="utf-8"))["exams"]
    raw = [(name, q) for name, exam in exams.items() for q in exam["data"]]
    assert len(rows) == len(raw) and len({r["id"] for r in rows}) == len(rows)
    for row, (name, q) in zip(rows, raw):
        right = next(a["atext"] for a in q["answers"] if str(a["aid"]) == str(q["ra"]))
        assert row["id"] == f"{name}-{q['qid']}" and row["question"] == q["qtext"]
        assert row["options"][row["answer"]] == right


def test_headqa_given_to_mcqa_jsonl_points_to_the_headqa_format(tmp_path):
    line = refused(tmp_path, "mcqa-jsonl", sample("headqa", "dev_HEAD_EN.json"))
    assert "dev_HEAD_EN.json:1: this is HEAD-QA's own JSON" in line and "--format headqa" in line


def test_headqa_flattened_answers_as_aid_atext_objects(tmp_path):
    source = sample("headqa", "headqa_en_dev_sample.jsonl")
    rows, _ = converted(tmp_path, "mcqa-jsonl", source, "--question-field", "qtext", "--options-field", "answers",
                        "--answer-field", "ra")
    raw = json_lines(source)
    assert len(rows) == len(raw) == 100
    for row, q in zip(rows, raw):
        assert row["answer"] == str(q["ra"])
        assert row["options"][row["answer"]] == next(a["atext"] for a in q["answers"] if a["aid"] == int(q["ra"]))


def test_headqa_option_list_with_one_based_ra(tmp_path):
    source = sample("headqa", "headqa_en_dev_sample_optionlist.jsonl")
    rows, _ = converted(tmp_path, "mcqa-jsonl", source, "--question-field", "qtext", "--answer-field", "ra",
                        "--answer-base", "1")
    raw = json_lines(sample("headqa", "headqa_en_dev_sample.jsonl"))
    assert len(rows) == 100
    for row, q in zip(rows, raw):
        assert row["options"][row["answer"]] == next(a["atext"] for a in q["answers"] if a["aid"] == int(q["ra"]))


def test_swag_converts(tmp_path):
    source = sample("mcqa-other", "transformers_swag_sample.json")
    rows, _ = converted(tmp_path, "mcqa-jsonl", source, "--question-field", "sent1",
                        "--options-field", "ending0,ending1,ending2,ending3", "--answer-field", "label")
    raw = json_lines(source)
    assert len(rows) == len(raw) == 10
    assert [r["answer"] for r in rows] == [LETTERS[int(x["label"])] for x in raw]


def test_commonsenseqa_refused_by_default_and_read_with_dotted_fields(tmp_path):
    source = sample("mcqa-other", "allennlp_commonsenseqa.jsonl")
    line = refused(tmp_path, "mcqa-jsonl", source)
    assert "allennlp_commonsenseqa.jsonl:1: field 'question' must be a string, got dict; expected" in line
    rows, _ = converted(tmp_path, "mcqa-jsonl", source, "--question-field", "question.stem",
                        "--options-field", "question.choices", "--answer-field", "answerKey")
    raw = json_lines(source)
    assert [r["answer"] for r in rows] == [x["answerKey"] for x in raw]
    assert [r["question"] for r in rows] == [x["question"]["stem"] for x in raw]


def test_piqa_without_labels_is_refused_with_the_expected_layout(tmp_path):
    source = sample("mcqa-other", "allennlp_piqa.jsonl")
    line = refused(tmp_path, "mcqa-jsonl", source, "--question-field", "goal", "--options-field", "sol1,sol2")
    assert "allennlp_piqa.jsonl:1: missing field 'answer' (the record has: goal, sol1, sol2); expected" in line


# ---- summarization -------------------------------------------------------------------------------

def test_mediqa_json_array_converts(tmp_path):
    source = sample("mediqa2021-indiana", "indiana_dev.json")
    rows, _ = converted(tmp_path, "summarization-jsonl", source, "--text-field", "findings",
                        "--summary-field", "impression", "--id-field", "study_id")
    raw = json.loads(source.read_text(encoding="utf-8"))
    assert len(rows) == len(raw) == 2000
    assert [(r["id"], r["text"], r["summary"]) for r in rows] == \
        [(x["study_id"], x["findings"], x["impression"]) for x in raw]


def test_mediqa_jsonl_empty_ids_fall_back_to_row_numbers(tmp_path):
    source = sample("mediqa2021-indiana", "indiana_dev_first200.jsonl")
    rows, _ = converted(tmp_path, "summarization-jsonl", source, "--text-field", "findings",
                        "--summary-field", "impression", "--id-field", "subject_id")
    assert [r["id"] for r in rows] == [f"indiana_dev_first200-{i}" for i in range(1, 201)]


def test_iu_xray_csv_empty_cells(tmp_path):
    source = sample("iu-xray-csv", "indiana_reports_first300.csv")
    options = ("--text-field", "findings", "--summary-field", "impression", "--id-field", "uid")
    line = refused(tmp_path, "csv", source, *options)
    assert "indiana_reports_first300.csv:4 (row 3): field 'findings' is empty (--skip-empty" in line
    rows, err = converted(tmp_path, "csv", source, *options, "--skip-empty")
    raw = list(csv.DictReader(io.StringIO(source.read_bytes().decode("utf-8"), newline="")))
    full = [x for x in raw if x["findings"].strip() and x["impression"].strip()]
    assert len(raw) == 300 and len(rows) == len(full) == 266
    assert [(r["id"], r["text"], r["summary"]) for r in rows] == \
        [(x["uid"], x["findings"], x["impression"]) for x in full]
    assert f"skipped {len(raw) - len(full)} row(s) with an empty 'findings' or 'impression'" in err
