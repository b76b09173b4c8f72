"""The YAML config layer: strict keys, required keys, overrides, paths, safe loading."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from hybridflux.config import (
    MODELS,
    Config,
    ConfigError,
    apply_overrides,
    dump_config,
    load_config,
    parse_config,
    resolve_paths,
)
from hybridflux.hybrid.model import HybridModel

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
#: Configs of `hybridflux train` (the other commands' configs have their own loaders).
CONFIGS = [
    CONFIG_DIR / name
    for name in (
        "demo.yaml",
        "nee_partition_daily.yaml",
        "q10_synthetic.yaml",
        "monthly_multisite.yaml",
    )
]
REQUIRED = [
    ("data", "paths"),
    ("split", "kind"),
    ("split", "test_years"),
    ("split", "test_sites"),
    ("train", "epochs"),
    ("train", "batch_size"),
    ("train", "seed"),
    ("train", "patience"),
    ("train", "checkpoint_every"),
]


def _raw(**changes) -> dict:
    raw = {
        "data": {"paths": ["sample:fr-pue-daily"]},
        "model": {"type": "hybrid_q10"},
        "targets": {"RECO": "RECO_syn"},
        "split": {"kind": "temporal", "test_years": [2014], "test_sites": None},
        "train": {
            "epochs": 2,
            "batch_size": 64,
            "seed": 0,
            "patience": 0,
            "checkpoint_every": 1,
        },
    }
    raw.update(changes)
    return raw


def _problems(raw, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, **kwargs)
    return info.value.problems


def test_shipped_configs_are_valid_and_round_trip():
    assert {p.name for p in CONFIGS} >= {"q10_synthetic.yaml", "nee_partition_daily.yaml"}
    for path in CONFIGS:
        cfg = load_config(path)
        again = parse_config(yaml.safe_load(dump_config(cfg)))
        assert again == cfg, path.name


@pytest.mark.parametrize(("section", "key"), REQUIRED)
def test_every_required_key_is_named_when_missing(section, key):
    raw = _raw()
    del raw[section][key]
    assert f"{section}.{key}: missing required key" in _problems(raw)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (("train", "epochz"), "train.epochz: unknown key; did you mean 'epochs'?"),
        (("split", "test_yeras"), "split.test_yeras: unknown key; did you mean 'test_years'?"),
        (("model", "hiden"), "model.hiden: unknown key; did you mean 'hidden'?"),
        (("data", "colour"), "data.colour: unknown key"),
    ],
)
def test_unknown_keys_are_errors_naming_the_key(where, expected):
    raw = _raw()
    raw[where[0]][where[1]] = 1
    (problem,) = _problems(raw)
    assert problem.startswith(expected)


def test_unknown_top_level_section_and_model_type():
    assert _problems(_raw(trian={"epochs": 1}))[0].startswith("trian: unknown key")
    (problem,) = _problems(_raw(model={"type": "lstm"}))
    assert "lstm" in problem and all(name in problem for name in MODELS)


def test_model_keys_are_those_of_the_factory():
    # lue_q10_nee accepts gpp_covariates; hybrid_q10 does not.
    cfg = parse_config(_raw(model={"type": "lue_q10_nee", "gpp_covariates": ["TA_F"]}))
    assert cfg.model.gpp_covariates == ["TA_F"]
    problems = _problems(_raw(model={"type": "hybrid_q10", "gpp_covariates": ["TA_F"]}))
    assert problems[0].startswith("model.gpp_covariates: unknown key")
    model = cfg.model.build(seed=3)
    assert isinstance(model, HybridModel) and "TA_F" in model.inputs


@pytest.mark.parametrize("kind", ["hybrid_q10", "lue_q10_nee", "direct_fluxes"])
def test_model_activation_is_a_config_key_that_reaches_the_networks(kind):
    import jax

    cfg = parse_config(_raw(model={"type": kind, "activation": "gelu"}))
    model = cfg.model.build(seed=0)
    nets = [s.net for s in model.sources.values() if hasattr(s, "net")]
    assert nets and all(net.activation is jax.nn.gelu for net in nets)
    assert parse_config(_raw(model={"type": kind})).model.activation == "tanh"
    assert _problems(_raw(model={"type": kind, "activation": "swish2"}))[0].startswith(
        "model.activation"
    )


def test_wrong_values_name_the_key():
    raw = _raw()
    raw["train"]["epochs"] = 0
    raw["split"]["val_fraction"] = 1.5
    problems = _problems(raw)
    assert any(p.startswith("train.epochs:") for p in problems)
    assert any(p.startswith("split.val_fraction:") for p in problems)


def test_split_options_must_fit_the_kind():
    raw = _raw()
    raw["split"] = {"kind": "spatial", "test_years": [2014], "test_sites": ["FR-Pue"]}
    (problem,) = _problems(raw)
    assert "split.test_years must be null for split kind 'spatial'" in problem


def test_overrides_parse_yaml_values_and_create_keys():
    raw = apply_overrides(
        _raw(), ["train.epochs=7", "data.paths=[a.csv, b.csv]", "split.test_sites=null"]
    )
    assert raw["train"]["epochs"] == 7
    assert raw["data"]["paths"] == ["a.csv", "b.csv"]
    assert raw["split"]["test_sites"] is None
    assert apply_overrides({}, ["constraints.flux_balance.weight=0.5"]) == {
        "constraints": {"flux_balance": {"weight": 0.5}}
    }
    assert _raw()["train"]["epochs"] == 2  # the input is not modified


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.epochs", "expected KEY=VALUE"),
        ("train.epochs.deep=3", "train.epochs is a value, not a section"),
        ("train.epochs=[1, 2", "is not YAML"),
    ],
)
def test_bad_overrides_are_config_errors(override, message):
    with pytest.raises(ConfigError, match="--set") as info:
        apply_overrides(_raw(), [override])
    assert message in info.value.problems[0]


def test_load_config_applies_overrides_and_names_unknown_override(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_raw()))
    assert load_config(path, ["train.lr=0.02"]).train.lr == 0.02
    with pytest.raises(ConfigError, match=r"train\.lrr: unknown key"):
        load_config(path, ["train.lrr=0.02"])


def test_paths_are_relative_to_the_config_folder_and_globs_expand(tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("b_DD.csv", "a_DD.csv", "c.txt"):
        (tmp_path / "data" / name).write_text("x")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_raw(data={"paths": ["data/*_DD.csv", "sample:monthly"]})))
    cfg = load_config(path)
    expected = [str(tmp_path / "data" / n) for n in ("a_DD.csv", "b_DD.csv")]
    assert cfg.data.paths == [*expected, "sample:monthly"]


def test_missing_paths_and_samples_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file matches"):
        resolve_paths(["nothing_*.csv"], tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        resolve_paths(["missing.csv"], tmp_path)
    with pytest.raises(ConfigError, match="known samples"):
        resolve_paths(["sample:nope"], tmp_path)
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_configs_are_read_with_a_safe_loader(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("data: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_dump_writes_every_default():
    text = dump_config(parse_config(_raw()))
    raw = yaml.safe_load(text)
    assert raw["train"]["lr"] == 0.001 and raw["train"]["trainable"] == "joint"
    assert raw["model"]["hidden"] == [16, 16] and raw["model"]["q10_bounds"] == [0.5, 5.0]
    assert isinstance(parse_config(raw), Config)


def test_every_option_of_every_split_kind_is_a_config_key():
    from hybridflux.config import SplitConfig
    from hybridflux.data.splits import SPLIT_KINDS

    for kind, fn in SPLIT_KINDS.items():
        options = set(inspect.signature(fn).parameters) - {"ds", "seed", "val_fraction"}
        assert options <= set(SplitConfig.model_fields), kind
