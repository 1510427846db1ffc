"""Tests for codegen_lib.train: schedules, the loop, checkpoints, safety, determinism and exact resume."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from codegen_lib.config import ModelConfig
from codegen_lib.tokenizer import train_tokenizer
from codegen_lib.train import (
    CheckpointError,
    TrainConfig,
    epoch_batches,
    load_training_state,
    lr_multiplier,
    train,
)

REPO = Path(__file__).resolve().parents[1]


def make_rows(n: int, offset: int = 0) -> list[dict]:
    """Tiny deterministic prompt/code pairs (two families so batches have different lengths)."""
    rows = []
    for i in range(offset, offset + n):
        if i % 2:
            rows.append({"prompt": f"Write a function that adds {i} to x.",
                         "code": f"def add_{i}(x):\n    return x + {i}\n"})
        else:
            rows.append({"prompt": f"Write a function that returns the list repeated {i} times.",
                         "code": f"def rep_{i}(xs):\n    out = []\n    for _ in range({i}):\n        out += xs\n"
                                 "    return out\n"})
    return rows


TRAIN_ROWS, VAL_ROWS = make_rows(40), make_rows(12, offset=100)


@pytest.fixture(autouse=True)
def _one_thread():
    """The CI CPU is shared: one intra-op thread avoids OpenMP spin-waiting (and is faster here)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tok():
    texts = [r[k] for r in TRAIN_ROWS for k in ("prompt", "code")]
    return train_tokenizer(texts, vocab_size=300)


def model_cfg(tok) -> ModelConfig:
    return ModelConfig.preset("tiny", src_vocab_size=tok.vocab_size, tgt_vocab_size=tok.vocab_size,
                              max_src_len=32, max_tgt_len=48)


def tiny_cfg(**kw) -> TrainConfig:
    return TrainConfig.preset("tiny", **{"max_steps": 10, "epochs": 2, "progress": False, **kw})


def losses(history: dict) -> list[float]:
    return [s["loss"] for s in history["steps"]]


# ---------------------------------------------------------------------------------------------- config


def test_presets_are_what_the_book_says():
    seed = TrainConfig.preset("seed")
    assert (seed.optimizer, seed.schedule, seed.batch_size, seed.label_smoothing) == ("adam", "noam", 32, 0.0)
    assert seed.warmup_steps > 0
    improved = TrainConfig.preset("improved")
    assert improved.optimizer == "adamw" and improved.label_smoothing == 0.1 and improved.schedule == "cosine"
    tiny = TrainConfig.preset("tiny", lr=1e-2)
    assert tiny.lr == 1e-2 and tiny.max_steps is not None
    again = TrainConfig.from_dict(json.loads(json.dumps(improved.to_dict())))
    assert again == improved and isinstance(again.betas, tuple)


@pytest.mark.parametrize("bad", [dict(schedule="exp"), dict(optimizer="sgd"), dict(lr=0.0),
                                 dict(mixed_precision="fp8"), dict(label_smoothing=1.0), dict(patience=0),
                                 dict(batch_size=0), dict(device="tpu")])
def test_bad_train_config_is_refused(bad):
    with pytest.raises(ValueError, match="TrainConfig"):
        TrainConfig(**bad)


def test_unknown_preset_and_keys():
    with pytest.raises(ValueError, match="unknown train preset"):
        TrainConfig.preset("huge")
    with pytest.raises(ValueError, match="unknown TrainConfig key"):
        TrainConfig.from_dict({"lr": 1e-3, "learning_rate": 1e-3})


def test_lr_schedules():
    f = lambda step, schedule: lr_multiplier(step, schedule=schedule, warmup_steps=10, total_steps=110)
    for schedule in ("noam", "linear", "cosine", "constant"):
        assert f(0, schedule) == pytest.approx(0.1)  # linear warmup
        assert f(4, schedule) == pytest.approx(0.5)
        assert f(9, schedule) == pytest.approx(1.0)  # peak at the end of warmup
    assert f(39, "noam") == pytest.approx(math.sqrt(10 / 40))  # 1/sqrt(step) decay
    assert f(59, "linear") == pytest.approx(0.5) and f(109, "linear") == pytest.approx(0.0)
    assert f(59, "cosine") == pytest.approx(0.5) and f(109, "cosine") == pytest.approx(0.0, abs=1e-12)
    assert f(100, "constant") == 1.0
    # the normalised noam equals the paper's formula with lr = (d_model * warmup) ** -0.5
    d_model, warmup = 128, 4000
    for step in (0, 999, 3999, 9999):
        s = step + 1
        paper = d_model**-0.5 * min(s**-0.5, s * warmup**-1.5)
        ours = (d_model * warmup) ** -0.5 * lr_multiplier(step, schedule="noam", warmup_steps=warmup,
                                                           total_steps=0)
        assert ours == pytest.approx(paper)


def test_epoch_batches_are_a_function_of_seed_and_epoch():
    lengths = [5, 9, 3, 7, 2, 8, 6, 4, 1, 10]
    for bucket in (True, False):
        a = epoch_batches(lengths, 3, seed=1, epoch=2, bucket=bucket)
        assert a == epoch_batches(lengths, 3, seed=1, epoch=2, bucket=bucket)
        assert sorted(i for b in a for i in b) == list(range(10))
        assert a != epoch_batches(lengths, 3, seed=1, epoch=3, bucket=bucket)


# ---------------------------------------------------------------------------------------------- the loop


class Recorder:
    def __init__(self):
        self.steps, self.epochs, self.ended = [], [], 0

    def on_step_end(self, state):
        self.steps.append((state["step"], state["loss"], state["lr"]))

    def on_epoch_end(self, state):
        self.epochs.append((state["epoch"], state["val_loss"]))

    def on_train_end(self, state):
        self.ended += 1


def test_train_writes_checkpoints_history_and_calls_back(tok, tmp_path):
    rec, plain = Recorder(), []
    history = train(model_cfg(tok), tiny_cfg(max_steps=12, epochs=3), tok, TRAIN_ROWS, VAL_ROWS,
                    tmp_path / "run", callbacks=[rec, plain.append])
    # 40 rows / batch 8 = 5 steps per epoch; max_steps=12 stops in epoch 3 after 2 steps
    assert history["steps_per_epoch"] == 5 and len(history["steps"]) == 12
    assert [e["step"] for e in history["epochs"]] == [5, 10, 12]
    assert [s for s, _, _ in rec.steps] == list(range(1, 13)) and len(plain) == 12 and rec.ended == 1
    assert [e for e, _ in rec.epochs] == [0, 1, 2]
    assert all(e["val_loss"] is not None and e["val_loss"] > 0 for e in history["epochs"])
    assert all(s["tokens"] > 0 and s["tokens_per_s"] > 0 for s in history["steps"])
    assert history["device"].startswith("cpu") and history["mixed_precision"] == "no"
    # the model learns something: the last epoch's losses are below the first
    first, last = history["epochs"][0], history["epochs"][-1]
    assert last["train_loss"] < first["train_loss"] and last["val_loss"] < first["val_loss"]
    # warmup: the lr grows over the first steps (tiny preset: 10 warmup steps)
    lrs = [s["lr"] for s in history["steps"]]
    assert lrs[0] < lrs[5] and lrs[0] == pytest.approx(tiny_cfg().lr / 10)
    # files: history next to the checkpoints; best and last are complete checkpoints
    run = tmp_path / "run"
    assert json.loads((run / "history.json").read_text()) == json.loads(json.dumps(history))
    for name in ("best", "last"):
        ckpt = run / name
        assert {"model.safetensors", "config.json", "tokenizer"} <= {p.name for p in ckpt.iterdir()}
    assert (run / "last" / "optimizer.pt").is_file() and not (run / "best" / "optimizer.pt").exists()
    config = json.loads((run / "last" / "config.json").read_text())
    assert config["step"] == 12 and config["format_version"] == 1
    assert config["model_config"] == model_cfg(tok).to_dict() and config["train_config"]["max_steps"] == 12
    assert config["tokenizer"]["vocab_size"] == tok.vocab_size
    best = json.loads((run / "best" / "config.json").read_text())
    assert best["val_loss"] == pytest.approx(min(e["val_loss"] for e in history["epochs"]))
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_training_state_holds_only_plain_data(tok, tmp_path):
    train(model_cfg(tok), tiny_cfg(max_steps=3, epochs=1), tok, TRAIN_ROWS, VAL_ROWS, tmp_path / "run")
    # weights_only=True would raise on any pickled object; this is exactly what resume uses
    state = torch.load(tmp_path / "run" / "last" / "optimizer.pt", weights_only=True)
    assert set(state) >= {"optimizer", "scheduler", "rng", "position"}
    assert state["position"]["global_step"] == 3 and isinstance(state["rng"]["torch"], torch.Tensor)
    assert load_training_state(tmp_path / "run" / "last")["position"] == state["position"]


def test_determinism_two_seeded_runs_are_identical(tok, tmp_path):
    cfg = tiny_cfg(max_steps=7)  # crosses an epoch boundary (5 steps per epoch)
    h1 = train(model_cfg(tok), cfg, tok, TRAIN_ROWS, VAL_ROWS, tmp_path / "a")
    h2 = train(model_cfg(tok), cfg, tok, TRAIN_ROWS, VAL_ROWS, tmp_path / "b")
    assert losses(h1) == losses(h2) and len(losses(h1)) == 7
    assert [e["val_loss"] for e in h1["epochs"]] == [e["val_loss"] for e in h2["epochs"]]
    w1, w2 = load_file(tmp_path / "a/last/model.safetensors"), load_file(tmp_path / "b/last/model.safetensors")
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    h3 = train(model_cfg(tok), tiny_cfg(max_steps=2, seed=1), tok, TRAIN_ROWS, VAL_ROWS, tmp_path / "c")
    assert losses(h3) != losses(h1)[:2]  # the seed matters (so the equality above is not vacuous)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_first_step_loss_is_teacher_forced_cross_entropy_ignoring_pad(tok, tmp_path, smoothing):
    """Recompute step 1's loss by hand: same init, same first batch, shifted targets, pad ignored."""
    import torch.nn.functional as F

    from codegen_lib.batching import Seq2SeqCollator
    from codegen_lib.model import build_model
    from codegen_lib.train import seed_everything

    mc = ModelConfig.from_dict({**model_cfg(tok).to_dict(), "dropout": 0.0})
    cfg = tiny_cfg(max_steps=1, bucket=False, optimizer="adamw", label_smoothing=smoothing)
    history = train(mc, cfg, tok, TRAIN_ROWS, VAL_ROWS, tmp_path / "run")

    seed_everything(cfg.seed)
    model = build_model(mc)
    first = epoch_batches([1] * len(TRAIN_ROWS), cfg.batch_size, seed=cfg.seed, epoch=0, bucket=False)[0]
    batch = Seq2SeqCollator(tok, mc.max_src_len, mc.max_tgt_len)([TRAIN_ROWS[i] for i in first])
    assert (batch["tgt_out"] == tok.pad_id).any()  # the batch has padding, so ignoring it matters
    logits = model(batch["src"], batch["tgt_in"])  # (B, T, V)
    keep = batch["tgt_out"] != tok.pad_id
    logp = logits.log_softmax(-1)[keep]  # (N, V) real target positions only
    nll = -logp.gather(1, batch["tgt_out"][keep][:, None]).squeeze(1)
    expected = ((1 - smoothing) * nll - smoothing * logp.mean(-1)).mean()
    assert history["steps"][0]["loss"] == pytest.approx(expected.item(), rel=1e-5)
    with_pad = F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch["tgt_out"].reshape(-1),
                               label_smoothing=smoothing)
    assert history["steps"][0]["loss"] != pytest.approx(with_pad.item(), rel=1e-3)


def test_early_stopping_keeps_the_best(tok, tmp_path, monkeypatch):
    import codegen_lib.train as train_mod

    fake = iter([2.0, 1.0, 1.5, 1.7, 1.9, 2.5, 3.0])  # improves once, then gets worse
    monkeypatch.setattr(train_mod, "_val_loss", lambda *a, **k: next(fake))
    history = train(model_cfg(tok), tiny_cfg(max_steps=None, epochs=7, patience=2), tok, TRAIN_ROWS,
                    VAL_ROWS, tmp_path / "run")
    assert history["stopped_early"] and len(history["epochs"]) == 4  # epochs 0..3: 2 bad epochs after best
    assert history["best_epoch"] == 1 and history["best_val_loss"] == 1.0
    best = json.loads((tmp_path / "run/best/config.json").read_text())
    assert best["val_loss"] == 1.0 and best["step"] == 10
    assert json.loads((tmp_path / "run/last/config.json").read_text())["step"] == 20


def test_vocab_mismatch_is_refused(tok, tmp_path):
    bad = ModelConfig.preset("tiny", src_vocab_size=tok.vocab_size + 1, tgt_vocab_size=tok.vocab_size + 1)
    with pytest.raises(ValueError, match="tokenizer.vocab_size"):
        train(bad, tiny_cfg(), tok, TRAIN_ROWS, VAL_ROWS, tmp_path / "run")
    with pytest.raises(ValueError, match="empty"):
        train(model_cfg(tok), tiny_cfg(), tok, [], VAL_ROWS, tmp_path / "run")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(model_cfg(tok), tiny_cfg(), tok, TRAIN_ROWS, VAL_ROWS, tmp_path / "run", resume=True)


def test_a_slots_model_trains_on_canonicalized_rows(tmp_path):
    """A model that reads slot-canonicalized requests (ModelConfig.slots) learns from them in that form, as
    generate() will give them; a tokenizer without the slot tokens is refused."""
    from codegen_lib.batching import Seq2SeqCollator
    from codegen_lib.slots import SLOT_TOKENS

    rows = [{"prompt": f"sort `people{i}` by 'age'", "code": f"sorted(people{i}, key=lambda d: d['age'])"}
            for i in range(8)]
    texts = [r[k] for r in rows for k in ("prompt", "code")]
    slot_tok = train_tokenizer(texts, vocab_size=300, added_tokens=SLOT_TOKENS)
    cfg = ModelConfig.preset("tiny", src_vocab_size=slot_tok.vocab_size, tgt_vocab_size=slot_tok.vocab_size,
                             slots=True)
    seen = []
    collate = Seq2SeqCollator(slot_tok, cfg.max_src_len, cfg.max_tgt_len)

    def recording(batch):
        seen.extend(batch)
        return collate(batch)

    train(cfg, tiny_cfg(max_steps=2, batch_size=4), slot_tok, rows, None, tmp_path / "run", collate_fn=recording)
    assert seen and {r["prompt"] for r in seen} == {"sort var_0 by var_1"}
    assert {r["code"] for r in seen} == {"sorted(var_0, key=lambda d: d['var_1'])"}
    plain = train_tokenizer(texts, vocab_size=300)
    bad = ModelConfig.preset("tiny", src_vocab_size=plain.vocab_size, tgt_vocab_size=plain.vocab_size, slots=True)
    with pytest.raises(ValueError, match="no slot tokens"):
        train(bad, tiny_cfg(), plain, rows, None, tmp_path / "bad")


# ---------------------------------------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def trained(tok, tmp_path_factory):
    run = tmp_path_factory.mktemp("trained") / "run"
    train(model_cfg(tok), tiny_cfg(max_steps=6, epochs=2), tok, TRAIN_ROWS, VAL_ROWS, run)
    return run


def copy_ckpt(trained: Path, tmp_path: Path, which: str = "last") -> Path:
    dst = tmp_path / "ckpt"
    shutil.copytree(trained / which, dst)
    return dst


def test_resume_refuses_a_different_model(tok, trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    other = ModelConfig.preset("tiny", src_vocab_size=tok.vocab_size, tgt_vocab_size=tok.vocab_size,
                               max_src_len=32, max_tgt_len=48, d_ff=128)
    with pytest.raises(CheckpointError, match="model config differs"):
        train(other, tiny_cfg(), tok, TRAIN_ROWS, VAL_ROWS, run, resume=True)


# ---------------------------------------------------------------------------------------------- exact resume

def kill_test_run(out, tok_dir, delay: float, resume: bool) -> None:
    """The run of the SIGKILL test: the subprocess and the in-process runs call exactly this."""
    from codegen_lib.tokenizer import CodeTokenizer

    tok = CodeTokenizer.load(tok_dir)
    tc = TrainConfig.preset("tiny", max_steps=24, epochs=5, save_every=3, progress=False)
    train(model_cfg(tok), tc, tok, TRAIN_ROWS, VAL_ROWS, out, callbacks=[lambda state: time.sleep(delay)],
          resume=resume)


SCRIPT = """
import sys
import torch
torch.set_num_threads(1)
sys.path.insert(0, {repo!r})
sys.path.insert(0, {tests!r})
from test_train import kill_test_run
kill_test_run(sys.argv[1], {tok_dir!r}, float(sys.argv[2]), resume=False)
print("done")
"""


@pytest.mark.slow
def test_resume_after_sigkill_gives_identical_weights(tok, tmp_path):
    """A seeded run killed with SIGKILL mid-way and resumed ends with exactly the uninterrupted weights."""
    tok.save(tmp_path / "tok")
    script = tmp_path / "run_train.py"
    script.write_text(SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests"), tok_dir=str(tmp_path / "tok")))
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    # 1. a run in a subprocess that we kill after its checkpoint at step >= 9 (of 24; 5 steps per epoch)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "killed"), "0.15"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    config = tmp_path / "killed" / "last" / "config.json"
    deadline, step = time.monotonic() + 60, 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            step = json.loads(config.read_text())["step"]
        except (OSError, ValueError, KeyError):
            step = 0
        if step >= 9:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"training ended before it could be killed: {proc.communicate()[1][-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = json.loads(config.read_text())["step"]
    assert 9 <= killed_at < 24

    # 2. resume it (here, in a fresh train() call); 3. an uninterrupted run with the same code
    kill_test_run(tmp_path / "killed", tmp_path / "tok", 0.0, resume=True)
    kill_test_run(tmp_path / "full", tmp_path / "tok", 0.0, resume=False)

    resumed = load_file(tmp_path / "killed/last/model.safetensors")
    full = load_file(tmp_path / "full/last/model.safetensors")
    assert resumed.keys() == full.keys()
    assert all(torch.equal(resumed[k], full[k]) for k in full)
    h_resumed = json.loads((tmp_path / "killed/history.json").read_text())
    h_full = json.loads((tmp_path / "full/history.json").read_text())
    assert losses(h_resumed) == losses(h_full) and len(losses(h_full)) == 24
    assert [e["val_loss"] for e in h_resumed["epochs"]] == [e["val_loss"] for e in h_full["epochs"]]
    assert json.loads(config.read_text())["step"] == 24
