"""Tests for the command line (`python -m codegen_lib train|generate|evaluate`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import codegen_lib.train as train_mod
from codegen_lib.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
TRAIN_ARGS = ["--preset", "tiny", "--vocab-size", "300", "--max-rows", "48", "--max-steps", "8",
              "--epochs", "2", "--no-progress", "--device", "cpu", "--threads", "1"]


@pytest.fixture(autouse=True)
def _restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_is_useful(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "train" in out and "generate" in out and "evaluate" in out and "examples:" in out
    for command, needles in {"train": ["--preset", "--resume", "--dataset", "default: tasks", "--vocab-size"],
                             "generate": ["--checkpoint", "--strategy", "--top-p", "--no-repeat-ngram",
                                          "default: greedy"],
                             "evaluate": ["--split", "--num-samples", "--limit", "--out"]}.items():
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert all(n in text for n in needles), (command, text)
    assert build_parser().parse_args(["train"]).dataset == "tasks"  # the offline corpus by default


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "codegen_lib", "generate", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert done.returncode == 0 and "--beam-size" in done.stdout
    done = subprocess.run([sys.executable, "-m", "codegen_lib", "frobnicate"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert done.returncode == 2 and "invalid choice" in done.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *TRAIN_ARGS, "--out", str(run)]) == 0
    return run


def test_train_writes_a_run(run_dir):
    assert (run_dir / "best" / "model.safetensors").is_file() and (run_dir / "last" / "optimizer.pt").is_file()
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["steps"]) == 8 and history["device"].startswith("cpu")
    config = json.loads((run_dir / "last" / "config.json").read_text())
    assert config["model_config"]["d_model"] == 32  # the tiny preset
    assert config["train_config"]["max_steps"] == 8 and config["train_config"]["lr"] == train_mod.TRAIN_PRESETS[
        "tiny"]["lr"]
    vocab = config["tokenizer"]["vocab_size"]
    assert 256 < vocab <= 300 and config["model_config"]["src_vocab_size"] == vocab  # BPE trained on the split


def test_generate_prints_what_decode_generates(run_dir, capsys):
    from codegen_lib.decode import generate

    prompt = "Write a function `add_two(x)` that adds 2 to x."
    code, out, _ = run_cli(capsys, "generate", "--checkpoint", run_dir, "--max-new-tokens", 12, prompt)
    model, tok, _ = train_mod.load_checkpoint(run_dir)
    expected = generate(model, tok, [prompt], max_new_tokens=12)[0]
    assert code == 0 and out == expected + "\n"
    code, out, _ = run_cli(capsys, "generate", "--checkpoint", run_dir, "--strategy", "beam", "--beam-size", 2,
                           "--no-repeat-ngram", 2, "--max-new-tokens", 12, prompt, "Write a function `f(s)`.")
    beams = generate(model, tok, [prompt, "Write a function `f(s)`."], strategy="beam", beam_size=2,
                     no_repeat_ngram_size=2, max_new_tokens=12)
    assert code == 0 and out.count("# --- prompt") == 2 and all(b in out for b in beams)


def test_generate_bad_input_gives_a_clear_error(run_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "generate", "--checkpoint", tmp_path / "nowhere", "hello")
    assert code == 2 and "no checkpoint" in err
    code, _, err = run_cli(capsys, "generate", "--checkpoint", run_dir, "")
    assert code == 2 and "error:" in err and "empty" in err.lower()


def test_train_refuses_to_clobber_and_bad_names(run_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", *TRAIN_ARGS, "--out", run_dir)
    assert code == 2 and "--resume" in err and "--overwrite" in err
    code, _, err = run_cli(capsys, "train", *TRAIN_ARGS, "--out", tmp_path / "fresh", "--resume")
    assert code == 2 and "no checkpoint" in err
    code, _, err = run_cli(capsys, "train", *TRAIN_ARGS, "--out", tmp_path / "x", "--dataset", "nope")
    assert code == 2 and "tasks" in err  # the message lists the valid corpus names


def test_resume_from_the_command_line_matches_an_uninterrupted_run(tmp_path, capsys, monkeypatch):
    """Interrupt a CLI run after its step-4 checkpoint, resume with --resume: same weights as one go."""
    args = [*TRAIN_ARGS, "--save-every", "4"]
    assert main(["train", *args, "--out", str(tmp_path / "full")]) == 0

    real_train = train_mod.train

    class Interrupt(Exception):
        pass

    def stop_at_step_6(state):
        if state["step"] == 6:
            raise Interrupt  # like Ctrl-C or a crash: no checkpoint after the one at step 4

    def interrupted_train(*a, callbacks=(), **kw):
        return real_train(*a, callbacks=[*callbacks, stop_at_step_6], **kw)

    monkeypatch.setattr(train_mod, "train", interrupted_train)
    with pytest.raises(Interrupt):
        main(["train", *args, "--out", str(tmp_path / "cut")])
    assert json.loads((tmp_path / "cut/last/config.json").read_text())["step"] == 4
    monkeypatch.setattr(train_mod, "train", real_train)
    # --resume takes the configs, tokenizer and data options (run.json: --max-rows 48) from the run
    assert main(["train", "--out", str(tmp_path / "cut"), "--resume", "--no-progress", "--device", "cpu",
                 "--threads", "1"]) == 0
    full, cut = load_file(tmp_path / "full/last/model.safetensors"), load_file(tmp_path / "cut/last/model.safetensors")
    assert all(torch.equal(full[k], cut[k]) for k in full)
    h_full = json.loads((tmp_path / "full/history.json").read_text())
    h_cut = json.loads((tmp_path / "cut/history.json").read_text())
    assert [s["loss"] for s in h_full["steps"]] == [s["loss"] for s in h_cut["steps"]]
    capsys.readouterr()


def test_evaluate_scores_a_split(run_dir, tmp_path, capsys):
    out = tmp_path / "results.json"
    code, stdout, err = run_cli(capsys, "evaluate", "--checkpoint", run_dir, "--dataset", "tasks", "--split", "test",
                                "--limit", 3, "--max-new-tokens", 16, "--out", out, "--no-codebert", "--no-progress",
                                "--threads", 1)
    assert code == 0, err
    metrics = json.loads(stdout)
    assert 0.0 <= metrics["exact_match"] <= 1.0 and "pass@1" in metrics  # the tasks split has tests
    saved = json.loads(out.read_text())
    assert saved["metrics"] == metrics and saved["split"] == "test" and saved["sizes"]["examples"] == 3
    code, _, err = run_cli(capsys, "evaluate", "--checkpoint", run_dir, "--split", "nope", "--no-codebert")
    assert code == 2 and "no split 'nope'" in err
