"""The task-type registry is the only list of task types: every other list is derived from it, or is
a known presentation list (labels, display order, renderers) that names only registered types.

The source scan finds any literal that names three or more task types (Python: a tuple, list, set or
dict keys, or the strings one function compares a value with, as an if/elif chain over types does;
JavaScript: the strings and object keys of one `const`/`let`/`var` declaration); each must be one of
KNOWN_LISTS, checked below."""

import ast
import json
import re
from pathlib import Path

import clinical_mpt
from clinical_mpt.data import canonical
from clinical_mpt.data.synth.tasks import TASKS
from clinical_mpt.report.tables import TYPE_LABELS
from clinical_mpt.serve.inputs import CONSOLE_ORDER, type_forms
from clinical_mpt.tasks import TASK_TYPES

PACKAGE = Path(clinical_mpt.__file__).resolve().parent
CONSOLE = PACKAGE / "serve" / "console"
# file (relative to the package) -> what its list of types is; each is checked in a test below
KNOWN_LISTS = {
    "report/tables.py": "TYPE_LABELS: short type names for report tables",
    "serve/inputs.py": "CONSOLE_ORDER: the order the console groups types in",
    "serve/console/render.js": "RENDERERS: type-specific renderings of a prediction (others: plain JSON)",
}
JS_NAME = r"(?:\"(\w+)\"|'(\w+)'|\b(\w+)\s*:)"   # a quoted string, or an object key


def _strings(nodes) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _python_lists(tree) -> list[list[str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            out.append(_strings(node.keys))
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            out.append(_strings(node.elts))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            compares = [c for c in ast.walk(node) if isinstance(c, ast.Compare)]
            operands = [x for c in compares for x in (c.left, *c.comparators)]
            out.append(_strings([y for x in operands for y in getattr(x, "elts", [x])]))
    return out


def _js_lists(text: str) -> list[list[str]]:
    text = re.sub(r"//[^\n]*", "", text)
    return [[next(g for g in m if g) for m in re.findall(JS_NAME, body)]
            for body in re.findall(r"\b(?:const|let|var)\s+\w+\s*=([\s\S]*?);\s*\n", text)]


def scan() -> dict[str, list[list[str]]]:
    """file -> the literals in it that name three or more registered task types."""
    found = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix == ".py":
            lists = _python_lists(ast.parse(path.read_text(encoding="utf-8")))
        elif path.suffix == ".js":
            lists = _js_lists(path.read_text(encoding="utf-8"))
        else:
            continue
        hits = [names for names in lists if len(set(names) & set(TASK_TYPES)) >= 3]
        if hits:
            found[path.relative_to(PACKAGE).as_posix()] = hits
    return found


def test_no_hand_kept_list_of_task_types_outside_the_known_ones():
    found = scan()
    unknown = {f: lists for f, lists in found.items() if f not in KNOWN_LISTS}
    assert not unknown, (f"hand-kept lists of task types {unknown}: derive them from "
                         "clinical_mpt.tasks.TASK_TYPES (or add a checked entry to KNOWN_LISTS)")
    assert set(found) == set(KNOWN_LISTS), "a known list is gone: drop it from KNOWN_LISTS"


def test_the_scan_would_see_a_hand_kept_list():
    assert _python_lists(ast.parse('X = ("ner", "qa", "nli")')) == [["ner", "qa", "nli"]]
    chain = ('def f(t):\n    if t == "ner":\n        pass\n    elif t in ("qa",):\n        pass\n'
             '    elif t == "nli":\n        pass\n')
    assert ["ner", "qa", "nli"] in _python_lists(ast.parse(chain))
    assert _js_lists('const FIELDS = {\n  ner: [["text", "Text"]],\n  qa: [], "nli": 2 };\n') == [
        ["ner", "text", "Text", "qa", "nli"]]


def test_canonical_tables_are_the_registry():
    assert canonical.TYPES == tuple(TASK_TYPES)
    assert canonical.PREDICTION_FIELD == {n: t.prediction_field for n, t in TASK_TYPES.items()}


def test_presentation_lists_name_only_registered_types():
    assert set(TYPE_LABELS) <= set(TASK_TYPES)
    assert set(CONSOLE_ORDER) <= set(TASK_TYPES) and len(set(CONSOLE_ORDER)) == len(CONSOLE_ORDER)
    assert list(type_forms()) == [*CONSOLE_ORDER, *(n for n in TASK_TYPES if n not in CONSOLE_ORDER)]
    renderers = re.search(r"const RENDERERS = \{([^}]*)\}", (CONSOLE / "render.js").read_text(encoding="utf-8"))
    assert set(re.findall(r"(\w+)\s*:", renderers.group(1))) <= set(TASK_TYPES)


def test_data_that_names_types_names_registered_ones():
    assert {spec.type for spec in TASKS} <= set(TASK_TYPES)   # the synthetic suite
    samples = json.loads((CONSOLE / "samples.json").read_text(encoding="utf-8"))
    assert set(samples) <= set(TASK_TYPES)                    # the console's sample inputs


def test_every_type_is_complete():
    for name, t in TASK_TYPES.items():
        assert t.name == name and t.label and t.inputs and t.prediction_field, name
        assert len({f.name for f in t.inputs}) == len(t.inputs) and any(not f.optional for f in t.inputs), name
