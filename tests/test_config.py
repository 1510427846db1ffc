"""ModelConfig and its presets (chapter 06)."""

import json

import pytest

from codegen_lib.config import PRESETS, ModelConfig


def test_seed_preset_is_the_reports_model():
    cfg = ModelConfig.preset("seed")
    assert (cfg.num_layers, cfg.num_heads, cfg.d_ff, cfg.d_model) == (6, 8, 1024, 128)
    assert (cfg.dropout, cfg.max_src_len, cfg.max_tgt_len) == (0.1, 128, 256)
    assert cfg.norm_first is False and cfg.tie_embeddings is False and cfg.pad_id == 0
    assert cfg.d_k == 16 and cfg.max_seq_length == 256


def test_other_presets():
    tiny, small, improved = (ModelConfig.preset(n) for n in ("tiny", "small", "improved"))
    assert tiny.d_model < small.d_model <= ModelConfig.preset("seed").d_model < improved.d_model
    assert tiny.num_layers == 2 and tiny.max_tgt_len < 256
    assert improved.norm_first and improved.tie_embeddings
    assert (improved.d_model, improved.num_heads, improved.num_layers, improved.d_ff) == (256, 8, 3, 1024)
    assert (improved.max_src_len, improved.max_tgt_len) == (128, 256)
    assert set(PRESETS) == {"seed", "tiny", "small", "improved", "copy"}
    copy = ModelConfig.preset("copy")  # improved + the copy head + slot-canonicalized requests (issue 17)
    assert copy.copy_head and copy.slots and not improved.copy_head and not improved.slots
    assert {k: v for k, v in copy.to_dict().items() if k not in ("copy_head", "slots")} == \
        {k: v for k, v in improved.to_dict().items() if k not in ("copy_head", "slots")}


def test_copy_head_needs_one_shared_vocabulary():
    import pytest

    with pytest.raises(ValueError, match="one shared vocabulary"):
        ModelConfig(src_vocab_size=100, tgt_vocab_size=120, copy_head=True)


def test_preset_overrides_and_unknown_preset():
    cfg = ModelConfig.preset("tiny", src_vocab_size=300, tgt_vocab_size=300, dropout=0.0)
    assert (cfg.src_vocab_size, cfg.tgt_vocab_size, cfg.dropout) == (300, 300, 0.0)
    assert ModelConfig.preset("tiny").dropout == 0.1  # the preset table was not mutated
    with pytest.raises(ValueError, match="unknown model preset 'huge'"):
        ModelConfig.preset("huge")
    with pytest.raises(ValueError, match="unknown ModelConfig key"):
        ModelConfig.preset("tiny", d_modle=64)


def test_dict_round_trip_is_json_safe():
    cfg = ModelConfig.preset("improved", src_vocab_size=512, tgt_vocab_size=512)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert ModelConfig.from_dict(d) == cfg


def test_from_dict_rejects_unknown_keys_naming_them():
    d = ModelConfig().to_dict() | {"num_layer": 3, "zzz": 1}
    with pytest.raises(ValueError, match=r"\['num_layer', 'zzz'\]"):
        ModelConfig.from_dict(d)
    with pytest.raises(TypeError):
        ModelConfig.from_dict([("d_model", 8)])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(d_model=130, num_heads=8), "divisible by num_heads"),
        (dict(num_layers=0), "num_layers must be a positive integer"),
        (dict(d_ff=2.5), "d_ff must be a positive integer"),
        (dict(dropout=1.0), "dropout"),
        (dict(pad_id=9000), "pad_id"),
        (dict(tie_embeddings=True, src_vocab_size=100, tgt_vocab_size=200), "one shared vocabulary"),
    ],
)
def test_invalid_configs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)
