"""A source audit: nothing in the code base can unpickle a file, run a model's remote code or load
YAML unsafely, and the server only listens on loopback unless told otherwise."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted((REPO / "src").rglob("*.py")) + sorted((REPO / "benchmarks").rglob("*.py"))

# (what is forbidden, a regex that finds it in a line of code, why)
FORBIDDEN = [
    ("pickle", re.compile(r"^\s*(import|from)\s+(c?pickle|dill|joblib|marshal|shelve)\b|\b(c?pickle|dill|joblib)\.(loads?|Unpickler)\b"),
     "unpickling runs arbitrary code: use safetensors for tensors and JSON for metadata"),
    ("torch.load without weights_only=True", re.compile(r"\btorch\.load\((?![^)]*weights_only\s*=\s*True)"),
     "torch.load unpickles; use safetensors (or weights_only=True on trusted files only)"),
    ("numpy pickle", re.compile(r"allow_pickle\s*=\s*True"), "np.load(allow_pickle=True) unpickles"),
    ("trust_remote_code=True", re.compile(r"trust_remote_code\s*=\s*True"),
     "runs Python shipped with a model folder"),
    ("unsafe YAML", re.compile(r"\byaml\.(unsafe_load|full_load)\(|\byaml\.load\((?![^)]*SafeLoader)"),
     "yaml.load can build arbitrary objects; use yaml.safe_load"),
    ("eval/exec", re.compile(r"(?<![.\w])(eval|exec)\("), "never evaluate text as code"),
]


def code_lines(path: Path):
    """(line number, line) of a Python file, skipping comment lines and docstring/prose lines."""
    in_doc = False
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        quotes = stripped.count('"""') + stripped.count("'''")
        if in_doc or stripped.startswith(("#", '"""', "'''")):
            if quotes % 2 == 1:
                in_doc = not in_doc
            continue
        yield i, line


def test_the_audit_scans_the_whole_package():
    assert len(SOURCES) > 50 and any(p.name == "server.py" for p in SOURCES)


@pytest.mark.parametrize("what, pattern, why", FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_no_unsafe_loading_in_the_source_tree(what, pattern, why):
    hits = [f"{p.relative_to(REPO)}:{i}: {line.strip()}" for p in SOURCES for i, line in code_lines(p)
            if pattern.search(line)]
    assert not hits, f"{what} ({why}):\n" + "\n".join(hits)


@pytest.mark.parametrize("line, forbidden", [
    ("import pickle", "pickle"),
    ("state = torch.load(path)", "torch.load without weights_only=True"),
    ("state = torch.load(path, map_location='cpu')", "torch.load without weights_only=True"),
    ("AutoModel.from_pretrained(p, trust_remote_code=True)", "trust_remote_code=True"),
    ("cfg = yaml.load(text)", "unsafe YAML"),
    ("x = eval(text)", "eval/exec"),
])
def test_the_audit_patterns_catch_what_they_should(line, forbidden):
    """The regexes are not vacuous: each flags a typical offending line ..."""
    assert dict((w, p) for w, p, _ in FORBIDDEN)[forbidden].search(line)


@pytest.mark.parametrize("line", ["torch.load(path, weights_only=True)", "yaml.safe_load(text)", "model.eval()",
                                  "ast.literal_eval(x)"])
def test_the_audit_patterns_allow_safe_lines(line):
    """... and lets the safe forms through."""
    assert not any(p.search(line) for _, p, _ in FORBIDDEN)


def test_the_server_binds_to_loopback_by_default():
    from clinical_mpt.commands import serve
    from clinical_mpt.serve.server import ServerConfig

    assert ServerConfig().host == "127.0.0.1"
    parser = argparse.ArgumentParser()
    serve.configure(parser)
    assert parser.parse_args([]).host == "127.0.0.1"


class _Payload:
    """Unpickling this object creates the file `marker` (stands in for arbitrary code)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickled_backbone_folder_is_refused_and_never_unpickled(tmp_path):
    import pickle

    from clinical_mpt.backbone import load_backbone, tiny_llama_config, tiny_tokenizer
    from clinical_mpt.errors import ConfigError

    folder, marker = tmp_path / "evil_model", tmp_path / "PAYLOAD_RAN"
    tiny_llama_config().save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"model.embed_tokens.weight": _Payload(marker)}))
    with pytest.raises(ConfigError, match="no \\*.safetensors weights; pickled weights"):
        load_backbone(str(folder), "float32")
    assert not marker.exists()
