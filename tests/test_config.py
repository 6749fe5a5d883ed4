"""Config: defaults, `a.b=value` overrides, strict errors that name the key, YAML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clinical_mpt.config import RunConfig, TrainConfig, dump_config, load_config, to_dict
from clinical_mpt.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def test_defaults_load():
    cfg = load_config(None)
    assert isinstance(cfg, RunConfig)
    assert cfg.backbone.name == "default" and cfg.backbone.dtype == "auto"
    assert cfg.prompt.length == 100 and cfg.prompt.rank == 1
    assert cfg.out == "runs/run"  # derived from the name
    # each stage keeps its own training defaults
    assert (cfg.teach.steps, cfg.teach.lr) == (200, 0.3)
    assert (cfg.distill.train.steps, cfg.distill.train.lr) == (300, 0.1)
    assert (cfg.adapt.train.steps, cfg.adapt.train.lr) == (150, 0.3)
    assert cfg.distill.lambda_ == 1.0 and cfg.distill.sampling == "temperature"
    assert cfg.adapt.shots is None and cfg.eval.split == "test"


def test_out_follows_name_unless_given():
    assert load_config(None, ["name=abc"]).out == "runs/abc"
    assert load_config(None, ["name=abc", "out=/tmp/x"]).out == "/tmp/x"


def test_overrides_are_parsed_as_yaml():
    cfg = load_config(None, ["teach.steps=50", "teach.lr=0.01", "distill.use_kl=false", "adapt.shots=null",
                             "data.max_train_examples=7", "prompt.init_text=hello world", "seed=3"])
    assert cfg.teach.steps == 50 and isinstance(cfg.teach.steps, int)
    assert cfg.teach.lr == 0.01 and isinstance(cfg.teach.lr, float)
    assert cfg.distill.use_kl is False
    assert cfg.adapt.shots is None
    assert cfg.data.max_train_examples == 7
    assert cfg.prompt.init_text == "hello world"
    assert cfg.seed == 3


@pytest.mark.parametrize("raw", ["1e-3", "3E-4"])
def test_float_fields_accept_exponent_notation(raw, tmp_path):
    assert load_config(None, [f"teach.lr={raw}"]).teach.lr == float(raw)
    path = tmp_path / "c.yaml"
    path.write_text(f"teach:\n  lr: {raw}\n")
    assert load_config(path).teach.lr == float(raw)


@pytest.mark.parametrize("override, field, expected", [
    ("name=2024", "name", "2024"),
    ("prompt.init_text=Extract: the note", "init_text", "Extract: the note"),
    ("prompt.init_text=yes", "init_text", "yes"),
])
def test_string_fields_keep_the_override_text(override, field, expected):
    cfg = load_config(None, [override])
    assert (cfg.name if field == "name" else cfg.prompt.init_text) == expected


def test_int_is_accepted_for_float_fields():
    cfg = load_config(None, ["teach.lr=1"])
    assert cfg.teach.lr == 1.0 and isinstance(cfg.teach.lr, float)


@pytest.mark.parametrize("raw, expected", [
    ("[a, b]", ["a", "b"]),
    ("a,b", ["a", "b"]),
    (" a , b ,", ["a", "b"]),
    ("a", ["a"]),
    ("[]", []),
])
def test_list_overrides(raw, expected):
    assert load_config(None, [f"data.source_tasks={raw}"]).data.source_tasks == expected


def test_overrides_apply_on_top_of_a_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: f\nteach:\n  steps: 9\n  lr: 0.2\n")
    cfg = load_config(path, ["teach.steps=11"])
    assert cfg.name == "f" and cfg.teach.steps == 11 and cfg.teach.lr == 0.2


def test_unknown_key_names_the_path_and_lists_known_keys():
    with pytest.raises(ConfigError) as e:
        load_config(None, ["teach.stepz=5"])
    msg = str(e.value)
    assert "teach.stepz" in msg
    for known in ("steps", "lr", "batch_size", "warmup_steps"):
        assert known in msg


def test_unknown_nested_key_names_the_full_path(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("distill:\n  train:\n    lrr: 0.1\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "distill.train.lrr" in str(e.value) and str(path) in str(e.value)


def test_unknown_top_level_key_lists_sections():
    with pytest.raises(ConfigError) as e:
        load_config(None, ["tech.steps=5"])
    assert "tech" in str(e.value)
    for known in ("teach", "distill", "adapt", "prompt", "backbone"):
        assert known in str(e.value)


def test_unknown_key_lists_lambda_by_its_yaml_name():
    with pytest.raises(ConfigError) as e:
        load_config(None, ["distill.lamda=1"])
    assert "lambda" in str(e.value) and "lambda_" not in str(e.value)


@pytest.mark.parametrize("override, where", [
    ("prompt.length=abc", "prompt.length"),
    ("prompt.length=1.5", "prompt.length"),
    ("teach.lr=fast", "teach.lr"),
    ("teach.lr=true", "teach.lr"),
    ("distill.use_kl=1", "distill.use_kl"),
    ("data.source_tasks=5", "data.source_tasks"),
    ("teach=5", "teach"),
])
def test_wrong_type(override, where):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert where in str(e.value)


@pytest.mark.parametrize("override, where", [
    ("prompt.length=0", "prompt.length"),
    ("prompt.rank=-1", "prompt.rank"),
    ("teach.lr=-0.1", "teach.lr"),
    ("teach.steps=0", "teach.steps"),
    ("distill.temperature=0", "distill.temperature"),
    ("distill.lambda=-1", "distill.lambda"),
    ("adapt.shots=-2", "adapt.shots"),
    ("data.max_train_examples=0", "data.max_train_examples"),
    ("distill.sampling=foo", "distill.sampling"),
    ("backbone.dtype=float64", "backbone.dtype"),
    ("prompt.init=zeros", "prompt.init"),
    ("eval.split=train", "eval.split"),
])
def test_impossible_values(override, where):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert where in str(e.value)


def test_bad_enum_lists_the_choices():
    with pytest.raises(ConfigError) as e:
        load_config(None, ["distill.sampling=foo"])
    for choice in ("proportional", "temperature", "balanced"):
        assert choice in str(e.value)


@pytest.mark.parametrize("override", ["teach.steps", "=5", "teach.steps.x=5"])
def test_malformed_overrides(override):
    with pytest.raises(ConfigError):
        load_config(None, [override])


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("teach: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)


def test_base_config_is_extended_section_by_section(tmp_path):
    (tmp_path / "parent.yaml").write_text(
        "name: parent\nteach: {steps: 80, lr: 0.3}\nmethods: [pt, mpt]\nprotocol: {shots: [16], shot_methods: [pt]}\n")
    (tmp_path / "sub").mkdir()
    child = tmp_path / "sub" / "child.yaml"
    child.write_text("base: ../parent.yaml\nname: child\nteach: {lr: 0.1}\nmethods: [pt]\n")
    cfg = load_config(child)
    assert cfg.name == "child"
    assert (cfg.teach.steps, cfg.teach.lr) == (80, 0.1)  # a section merges key by key
    assert cfg.methods == ["pt"]                          # a list replaces
    assert cfg.protocol.shots == [16]
    assert load_config(child, ["teach.steps=5"]).teach.steps == 5  # overrides apply last
    grandchild = tmp_path / "grandchild.yaml"
    grandchild.write_text("base: sub/child.yaml\nteach: {warmup_steps: 3}\n")
    cfg = load_config(grandchild)
    assert (cfg.name, cfg.teach.steps, cfg.teach.lr, cfg.teach.warmup_steps) == ("child", 80, 0.1, 3)


def test_base_config_errors(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("base: b.yaml\n")
    b.write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match=r"form a cycle \(a.yaml -> b.yaml -> a.yaml\)"):
        load_config(a)
    a.write_text("base: missing.yaml\n")
    with pytest.raises(ConfigError, match="missing.yaml: config file not found"):
        load_config(a)
    a.write_text("base: [b.yaml]\n")
    with pytest.raises(ConfigError, match="base: expected the path"):
        load_config(a)
    b.write_text("- not a mapping\n")
    a.write_text("base: b.yaml\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(a)
    for bad in ('"a\\0b"', "x" * 5000):  # a null byte, a name too long for the file system
        a.write_text(f"base: {bad}\n")
        with pytest.raises(ConfigError, match="base"):
            load_config(a)
    b.write_text("teach: {stepz: 3}\n")  # an error inside the base names the chain
    a.write_text("base: b.yaml\n")
    with pytest.raises(ConfigError, match=r"a.yaml \(extends b.yaml\): teach.stepz: unknown key"):
        load_config(a)
    with pytest.raises(ConfigError, match="base can only be set in a config file"):
        load_config(None, ["base=b.yaml"])


def test_base_config_keeps_its_out_and_empty_sections(tmp_path):
    (tmp_path / "parent.yaml").write_text("name: parent\nout: results/parent\nteach: {steps: 80}\n")
    child = tmp_path / "child.yaml"
    child.write_text("base: parent.yaml\nname: child\nteach:\n  # steps: 5\n")
    cfg = load_config(child)
    assert cfg.out == "runs/child"  # never the base's folder
    assert cfg.teach.steps == 80    # an empty section keeps the base's


@pytest.mark.parametrize("name", ["study-cpu-k4", "study-cpu-devrates", "study-cpu-devrates-k16", "study-cpu-devrates-lora",
                                  "study-cpu-devrates-deep", "study-cpu-devrates-k16-lora",
                                  "study-cpu-realtext-nli", "study-cpu-realtext-nli-control", "study-cpu-devrates-k16-deep",
                                  "library-nli"])
def test_follow_up_configs_still_resolve_to_their_committed_runs(name):
    """They extend configs/study-cpu.yaml: a change there must not silently re-key their committed runs."""
    committed = ROOT / "docs" / "results" / name / "config.yaml"
    assert to_dict(load_config(ROOT / "configs" / f"{name}.yaml")) == to_dict(load_config(committed))


def test_lambda_yaml_alias(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("distill:\n  lambda: 0.25\n")
    assert load_config(path).distill.lambda_ == 0.25
    assert load_config(None, ["distill.lambda=0.5"]).distill.lambda_ == 0.5
    dumped = to_dict(load_config(None))
    assert "lambda" in dumped["distill"] and "lambda_" not in dumped["distill"]


def test_dump_then_load_round_trip(tmp_path):
    cfg = load_config(None, ["name=rt", "distill.lambda=0.3", "data.source_tasks=[a, b]", "adapt.shots=4",
                             "distill.train.steps=7", "distill.train.lr=0.02", "prompt.init=text"])
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_config(cfg))
    again = load_config(path)
    assert again == cfg
    assert dump_config(again) == dump_config(cfg)
    assert yaml.safe_load(dump_config(cfg))["distill"]["lambda"] == 0.3


@pytest.mark.parametrize("section", ["distill.train", "adapt.train", "baselines.full", "baselines.lora.train"])
def test_partial_nested_section_keeps_its_own_defaults(section):
    def get(cfg):
        for part in section.split("."):
            cfg = getattr(cfg, part)
        return cfg

    base = get(load_config(None))
    train = get(load_config(None, [f"{section}.lr=0.123"]))
    assert train.lr == 0.123
    assert train.steps == base.steps  # 300 distill, 150 adapt / full / lora: not TrainConfig's 200
    assert base.steps != TrainConfig().steps


def test_methods_and_protocol():
    cfg = load_config(None, ["methods=[mpt, pt, zero-shot]", "protocol.shots=[0, 4]", "protocol.seeds=[0, 1]"])
    assert cfg.methods == ["mpt", "pt", "zero-shot"]
    assert cfg.protocol.shots == [0, 4] and cfg.protocol.seeds == [0, 1]
    assert load_config(None, ["methods=mpt,lora"]).methods == ["mpt", "lora"]
    assert load_config(None).methods == ["mpt"]


@pytest.mark.parametrize("override, where", [
    ("methods=[mpt, bert]", "methods"),
    ("protocol.shots=[4, -1]", "protocol.shots"),
    ("protocol.shots=[2.5]", "protocol.shots"),
])
def test_bad_methods_and_protocol(override, where):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert where in str(e.value)


def test_protocol_with_nothing_to_evaluate():
    with pytest.raises(ConfigError, match="full_data"):
        load_config(None, ["protocol.full_data=false"])
    assert load_config(None, ["protocol.full_data=false", "protocol.shots=[4]"]).protocol.shots == [4]


@pytest.mark.parametrize("override, field, expected", [("protocol.shots=4,16", "shots", [4, 16]),
                                                       ("protocol.seeds=0,1", "seeds", [0, 1])])
def test_comma_lists_of_numbers(override, field, expected):
    assert getattr(load_config(None, [override]).protocol, field) == expected


@pytest.mark.parametrize("override", ["protocol.seeds=[a]", "protocol.seeds=[]", "protocol.seeds=[1.5]"])
def test_bad_protocol_seeds(override):
    with pytest.raises(ConfigError, match="protocol.seeds"):
        load_config(None, [override])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads_and_says_how_to_run_it(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# clinical-mpt "), f"{path.name}: first line must be '# clinical-mpt <command> ...'"
    assert path.name in first
    cfg = load_config(path)
    assert isinstance(cfg, RunConfig)


def test_shipped_configs_exist():
    assert any(p.name == "tiny.yaml" for p in CONFIGS)
