"""Hypothesis: every parser survives any string and returns the right field type; random gold
examples survive the format -> parse -> score round trip with a perfect primary metric."""

import string

from hypothesis import given
from hypothesis import strategies as st

from clinical_mpt.data.canonical import NLI_LABELS, PREDICTION_FIELD, TYPES
from clinical_mpt.tasks import TASK_TYPES
from clinical_mpt.tasks.normalize import normalize_mention, squad_normalize
from fuzz_bytes import fuzz_settings

FUZZ = fuzz_settings(150)
EXAMPLES = {
    "ner": {"id": "x", "type": "ner", "text": "Metformin 500 mg; aspirin.", "entities": []},
    "re": {"id": "x", "type": "re", "text": "Metformin 500 mg.", "relations": []},
    "qa": {"id": "x", "type": "qa", "context": "c", "question": "q", "answers": ["a"]},
    "mcqa": {"id": "x", "type": "mcqa", "question": "q", "options": {"A": "yes", "B": "no", "C": "(maybe)"}, "answer": "A"},
    "nli": {"id": "x", "type": "nli", "premise": "p", "hypothesis": "h", "label": "neutral"},
    "summarization": {"id": "x", "type": "summarization", "text": "t", "summary": "s"},
}
GENERATIONS = st.one_of(
    st.text(),
    st.text(alphabet=":;->()[]. \nABCabc"),
    st.lists(st.sampled_from(["Drug", ":", ";", " ", "->", "aspirin", "500 mg", "\n", "B", "(", ")", "none",
                              "entail", "<|endoftext|>", "Answer"])).map("".join),
)


def _check_prediction(name, pred, ex):
    field = PREDICTION_FIELD[name]
    assert set(pred) == {"id", field} and pred["id"] == ex["id"]
    value = pred[field]
    if name == "ner":
        for ent in value:
            assert isinstance(ent["type"], str) and ent["type"] and isinstance(ent["text"], str)
            if "start" in ent:
                assert ex["text"][ent["start"]:ent["end"]] == ent["text"]
    elif name == "re":
        for rel in value:
            assert all(isinstance(rel[k], str) for k in ["type"]) and isinstance(rel["head"]["text"], str)
            assert isinstance(rel["tail"]["text"], str)
    else:
        assert isinstance(value, str) and "\n" not in value
        if name == "mcqa":
            assert value in ("", *ex["options"])
        if name == "nli":
            assert value in ("", *NLI_LABELS)


@FUZZ
@given(generated=GENERATIONS, name=st.sampled_from(TYPES))
def test_parse_never_raises(generated, name):
    ex = EXAMPLES[name]
    pred = TASK_TYPES[name].parse(generated, ex)
    _check_prediction(name, pred, ex)
    TASK_TYPES[name].score([ex], [pred])      # and the scorer accepts it


@FUZZ
@given(generated=GENERATIONS, text=st.text())
def test_ner_parse_with_random_source_text(generated, text):
    ex = dict(EXAMPLES["ner"], text=text)
    _check_prediction("ner", TASK_TYPES["ner"].parse(generated, ex), ex)


# --- round trips on random gold examples ---------------------------------------------------------
WORD = st.text(alphabet=string.ascii_letters + string.digits + ".,:()-'/%", min_size=1, max_size=8)
TYPE_NAME = st.text(alphabet=string.ascii_letters + "-_ ", min_size=1, max_size=12).filter(lambda s: s.strip())


@st.composite
def ner_examples(draw):
    words = draw(st.lists(WORD, min_size=1, max_size=12))
    seps = draw(st.lists(st.sampled_from([" ", "  ", "\n", " ; "]), min_size=len(words), max_size=len(words)))
    text, starts = "", []
    for w, sep in zip(words, seps):
        starts.append(len(text))
        text += w + sep
    ents = []
    for i in draw(st.sets(st.integers(0, len(words) - 1), max_size=5)):
        j = draw(st.integers(i, min(i + 2, len(words) - 1)))
        span = text[starts[i]:starts[j] + len(words[j])]
        if ";" not in span and normalize_mention(span):
            ents.append({"type": draw(TYPE_NAME), "start": starts[i], "end": starts[i] + len(span), "text": span})
    return {"id": "g", "type": "ner", "text": text, "entities": ents}


MENTION = st.lists(WORD, min_size=1, max_size=3).map(" ".join).filter(normalize_mention)


@st.composite
def re_examples(draw):
    rels = draw(st.lists(st.fixed_dictionaries({"type": TYPE_NAME, "head": st.fixed_dictionaries({"text": MENTION}),
                                                "tail": st.fixed_dictionaries({"text": MENTION})}), max_size=4))
    return {"id": "g", "type": "re", "text": "t", "relations": rels}


def _perfect(name, ex):
    tt = TASK_TYPES[name]
    assert tt.score([ex], [tt.parse(tt.format_target(ex), ex)])[tt.primary_metric] == 1.0


@FUZZ
@given(ex=ner_examples())
def test_ner_round_trip(ex):
    _perfect("ner", ex)


@FUZZ
@given(ex=re_examples())
def test_re_round_trip(ex):
    _perfect("re", ex)


@FUZZ
@given(answers=st.lists(st.text(min_size=1), min_size=1, max_size=3).filter(lambda a: squad_normalize(a[0])))
def test_qa_round_trip(answers):
    _perfect("qa", {"id": "g", "type": "qa", "context": "c", "question": "q", "answers": answers})


@FUZZ
@given(keys=st.lists(st.sampled_from(list("ABCDEFGH") + ["1", "2", "3", "10"]), min_size=2, max_size=6, unique=True),
       data=st.data())
def test_mcqa_round_trip(keys, data):
    options = {k: data.draw(st.text(max_size=20)) for k in keys}
    _perfect("mcqa", {"id": "g", "type": "mcqa", "question": "q", "options": options,
                      "answer": data.draw(st.sampled_from(keys))})


@FUZZ
@given(label=st.sampled_from(NLI_LABELS))
def test_nli_round_trip(label):
    _perfect("nli", {"id": "g", "type": "nli", "premise": "p", "hypothesis": "h", "label": label})


@fuzz_settings(60)
@given(summary=st.lists(WORD, min_size=1, max_size=10).map(" ".join).filter(lambda s: any(c.isalnum() for c in s)))
def test_summarization_round_trip(summary):
    _perfect("summarization", {"id": "g", "type": "summarization", "text": "t", "summary": summary})
