"""Tests for codegen_lib.checkpoint: the round trip, atomic saves, corrupt or unsafe checkpoints refused."""

# ruff: noqa: F811  (the fixtures tok and trained come from test_train and are named as arguments)
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_train import TRAIN_ROWS, VAL_ROWS, copy_ckpt, model_cfg, tiny_cfg, tok, trained  # noqa: F401 (fixtures)

from codegen_lib.checkpoint import CheckpointError, load_checkpoint, load_training_state, save_checkpoint
from codegen_lib.config import ModelConfig
from codegen_lib.train import train

REPO = Path(__file__).resolve().parents[1]


def test_load_checkpoint_round_trip(tok, trained):
    model, tok2, info = load_checkpoint(trained)  # a run directory: best/ is used
    assert info["path"].endswith("best") and not model.training
    assert tok2.encode("def f(x): return x") == tok.encode("def f(x): return x")
    model_last, _, info_last = load_checkpoint(trained / "last")
    weights = load_file(trained / "last" / "model.safetensors")
    state = model_last.state_dict()
    assert all(torch.equal(state[k], v) for k, v in weights.items())
    src = torch.tensor([tok.encode("Write a function that adds 3 to x.")])
    tgt = torch.tensor([[tok.bos_id] + tok.encode("def add_3(x):")])
    with torch.no_grad():
        assert model_last(src, tgt).shape == (1, tgt.size(1), tok.vocab_size)
    assert info_last["step"] == 6


def test_tied_embeddings_round_trip(tok, tmp_path):
    """The improved preset ties embeddings: safetensors stores the shared tensor once and loads it back tied."""
    mc = ModelConfig.from_dict({**model_cfg(tok).to_dict(), "tie_embeddings": True, "norm_first": True})
    train(mc, tiny_cfg(max_steps=2, epochs=1), tok, TRAIN_ROWS, VAL_ROWS, tmp_path / "run")
    model, _, info = load_checkpoint(tmp_path / "run" / "last")
    assert info["model_config"]["tie_embeddings"]
    assert model.fc.weight.data_ptr() == model.decoder_embedding.weight.data_ptr()
    saved = load_file(tmp_path / "run" / "last" / "model.safetensors")
    shared = [k for k in saved if k in ("fc.weight", "decoder_embedding.weight", "encoder_embedding.weight")]
    assert len(shared) == 1 and torch.equal(saved[shared[0]], model.fc.weight)


def test_save_checkpoint_is_atomic(tok, trained, tmp_path, monkeypatch):
    ckpt = copy_ckpt(trained, tmp_path)
    before = (ckpt / "model.safetensors").read_bytes()
    model, tok2, _ = load_checkpoint(ckpt)
    torch.nn.init.zeros_(model.fc.bias)

    def boom(directory):
        raise OSError("disk full")

    monkeypatch.setattr(tok2, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(ckpt, model, tok2)
    assert (ckpt / "model.safetensors").read_bytes() == before  # the old checkpoint is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary directory left behind
    # a swap interrupted between its two renames (old moved aside, new not yet in place) is recovered
    os.replace(ckpt, tmp_path / ".ckpt.old")
    assert load_checkpoint(ckpt)[2]["path"] == str(ckpt)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no_weights", "no_config", "bad_json",
                                    "no_tokenizer", "vocab", "shape", "unknown_key", "future"])
def test_corrupt_or_incompatible_checkpoint_raises(trained, tmp_path, damage):
    ckpt = copy_ckpt(trained, tmp_path)
    weights, config_path = ckpt / "model.safetensors", ckpt / "config.json"
    config = json.loads(config_path.read_text())
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "garbage":
        weights.write_bytes(os.urandom(1000))
    elif damage == "no_weights":
        weights.unlink()
    elif damage == "no_config":
        config_path.unlink()
    elif damage == "bad_json":
        config_path.write_text(config_path.read_text()[:-20])
    elif damage == "no_tokenizer":
        shutil.rmtree(ckpt / "tokenizer")
    elif damage == "vocab":
        config["model_config"].update(src_vocab_size=999, tgt_vocab_size=999)
    elif damage == "shape":
        config["model_config"].update(d_ff=128)
    elif damage == "unknown_key":
        config["model_config"]["n_layers"] = 2
    elif damage == "future":
        config["format_version"] = 99
    if damage in ("vocab", "shape", "unknown_key", "future"):
        config_path.write_text(json.dumps(config))
    messages = {"truncate": "model.safetensors cannot be read", "garbage": "model.safetensors cannot be read",
                "no_weights": "model.safetensors is missing", "no_config": "no checkpoint",
                "bad_json": "not valid JSON", "no_tokenizer": "tokenizer", "vocab": "vocabulary sizes disagree",
                "shape": "shape mismatch", "unknown_key": "unknown ModelConfig key", "future": "format_version"}
    with pytest.raises(CheckpointError, match=messages[damage]):
        load_checkpoint(ckpt)
    assert issubclass(CheckpointError, ValueError)


class Payload:
    """Unpickling this creates a marker file: proof that the loader would have run code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_never_executed(trained, tmp_path, tok):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"optimizer": Payload(marker)}, protocol=2)
    # sanity: the payload is live -- plain pickle.loads runs it
    pickle.loads(evil)
    assert marker.exists()
    marker.unlink()

    ckpt = copy_ckpt(trained, tmp_path)
    (ckpt / "optimizer.pt").write_bytes(evil)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_training_state(ckpt)
    # the same file as a resume source: refused by train(resume=True) too
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    (run / "last" / "optimizer.pt").write_bytes(evil)
    with pytest.raises(CheckpointError, match="refusing to load"):
        train(model_cfg(tok), tiny_cfg(max_steps=6, epochs=2), tok, TRAIN_ROWS, VAL_ROWS, run, resume=True)
    # as the weights file: safetensors is a header + raw bytes, a pickle is just an unreadable file
    (ckpt / "model.safetensors").write_bytes(evil)
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(ckpt)
    # pickle-based weights (model.pt) are never opened
    (ckpt / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(1)}, ckpt / "model.pt")
    (ckpt / "model.pt").write_bytes(evil)
    with pytest.raises(CheckpointError, match="never loaded"):
        load_checkpoint(ckpt)
    only_pt = tmp_path / "only_pt"
    only_pt.mkdir()
    (only_pt / "pytorch_model.bin").write_bytes(evil)
    with pytest.raises(CheckpointError, match="never loaded"):
        load_checkpoint(only_pt)
    assert not marker.exists()
