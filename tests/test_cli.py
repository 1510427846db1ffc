"""Tests for the command line (`python -m codegen_lib train|generate|evaluate`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_readme import shell_substitutions  # the same bash rule as the README's quick-start

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


# ---- a newcomer's path (issue 14)

def help_examples() -> list[str]:
    """The epilog's example command lines, with backslash continuations joined."""
    from codegen_lib.cli import EPILOG

    body = EPILOG.split("examples", 1)[1].split("\n\n", 1)[0]
    lines = body.splitlines()[1:]
    assert lines and all(line.startswith("  ") for line in lines), body
    return [line.strip() for line in "\n".join(lines).replace("\\\n", " ").splitlines() if line.strip()]


def test_help_examples_paste_into_bash_and_parse():
    import shlex

    examples = help_examples()
    assert len(examples) >= 10 and all("\\" not in e for e in examples)  # continuations joined
    parser = build_parser()
    for example in examples:
        assert not shell_substitutions(example), f"bash would substitute a command in: {example}"
        argv = shlex.split(example, comments=True)
        if argv[:3] == ["accelerate", "launch", "-m"]:
            argv = ["codegen", *argv[4:]]
        assert argv[0] == "codegen", example
        parser.parse_args(argv[1:])  # SystemExit (a failed test) on an unknown option or a bad value
    assert any("--scale offline" in e and "--xlcost-dir" in e for e in examples)  # the continued line


def test_help_names_the_program_as_invoked():
    assert build_parser("codegen").format_usage().startswith("usage: codegen ")
    done = subprocess.run([sys.executable, "-m", "codegen_lib", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "usage: python -m codegen_lib" in done.stdout


def test_generate_uses_the_shipped_model_by_default(capsys):
    from codegen_lib.commands import shipped_checkpoint
    from codegen_lib.decode import generate
    from codegen_lib.pretrained import SHIPPED_MODEL, artifacts_dir

    if not (artifacts_dir() / SHIPPED_MODEL / "config.json").is_file():
        pytest.skip("no shipped model in artifacts/")
    assert shipped_checkpoint() == artifacts_dir() / SHIPPED_MODEL
    assert build_parser().parse_args(["generate", "x"]).checkpoint == "shipped"
    prompt = "Define calc_formula(number) which computes 6 * number + 19."
    code, out, err = run_cli(capsys, "generate", "--max-new-tokens", 24, "--threads", 1, prompt)
    model, tok, _ = train_mod.load_checkpoint(shipped_checkpoint())
    assert code == 0 and out == generate(model, tok, [prompt], max_new_tokens=24)[0] + "\n", err


def test_missing_shipped_model_says_what_to_do(monkeypatch, tmp_path, capsys):
    import codegen_lib.pretrained as pretrained

    monkeypatch.setattr(pretrained, "artifacts_dir", lambda: tmp_path / "artifacts")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "generate", "hello")
    assert code == 2 and "shipped" in err and "--checkpoint RUN_DIR" in err


def test_temperature_zero_points_to_the_greedy_strategy(run_dir, capsys):
    code, out, err = run_cli(capsys, "generate", "--checkpoint", run_dir, "--strategy", "sample", "--temperature", 0,
                             "hello")
    assert code == 2 and out == "" and "--strategy greedy" in err and "greedy_decode" not in err
    # with the default (greedy) strategy a temperature would be ignored: an error that names the strategy
    code, out, err = run_cli(capsys, "generate", "--checkpoint", run_dir, "--temperature", 0, "hello")
    assert code == 2 and out == "" and "--strategy sample" in err and "greedy" in err


@pytest.mark.parametrize("options, strategy", [(["--temperature", "0.8"], "sample"), (["--top-k", "5"], "sample"),
                                               (["--top-p", "0.9"], "sample"), (["--beam-size", "2"], "beam")])
def test_an_option_the_strategy_would_ignore_is_an_error(run_dir, capsys, options, strategy):
    code, out, err = run_cli(capsys, "generate", "--checkpoint", run_dir, *options, "hello")
    assert code == 2 and out == "" and err.count("\n") == 1 and f"add --strategy {strategy}" in err, err
    code, out, err = run_cli(capsys, "generate", "--checkpoint", run_dir, "--strategy", strategy, *options,
                             "--max-new-tokens", 3, "--seed", 0, "hello")
    assert code == 0 and out, err


def test_a_long_prompt_is_a_one_line_note_counting_prompts_from_one(run_dir, capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw Python warning reaches the user
        code, out, err = run_cli(capsys, "generate", "--checkpoint", run_dir, "--max-new-tokens", 2, "short",
                                 "word " * 5000)
    assert code == 0 and out.count("# --- prompt") == 2, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and notes[0].startswith("note: prompt 2 has ") and "cut" in notes[0], err
    assert "cli.py" not in err and "Warning" not in err
    code, _, err = run_cli(capsys, "generate", "--checkpoint", run_dir, "fine", " ")
    assert code == 2 and err.startswith("error: prompt 2 is empty"), err


def test_an_interrupted_overwrite_keeps_the_previous_run(run_dir, tmp_path, capsys, monkeypatch):
    """Ctrl-C (or a crash) before the new run's first checkpoint: the old run is still there, whole."""
    import shutil

    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_train = train_mod.train

    def stop_at_step_3(state):
        if state["step"] == 3:  # an epoch is 6 steps: no checkpoint has been written yet
            raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "train",
                        lambda *a, callbacks=(), **kw: real_train(*a, callbacks=[*callbacks, stop_at_step_3], **kw))
    code, _, err = run_cli(capsys, "train", *TRAIN_ARGS, "--out", out, "--overwrite", "--seed", 1)
    assert code == 130 and "interrupted" in err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # every file of the old run, byte for byte, and nothing else
    assert train_mod.load_checkpoint(out)[2]["path"] == str(out / "best")


def test_overwrite_replaces_the_old_run_at_its_first_checkpoint(run_dir, tmp_path, capsys, monkeypatch):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    old_best = (out / "best" / "model.safetensors").read_bytes()
    real_train = train_mod.train

    def stop_at_step_3(state):
        if state["step"] == 3:  # after the step-2 checkpoint (--save-every 2), before the epoch's best
            raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "train",
                        lambda *a, callbacks=(), **kw: real_train(*a, callbacks=[*callbacks, stop_at_step_3], **kw))
    code, _, _ = run_cli(capsys, "train", *TRAIN_ARGS, "--out", out, "--overwrite", "--seed", 1, "--save-every", 2)
    assert code == 130
    assert json.loads((out / "last" / "config.json").read_text())["step"] == 2  # the new run's checkpoint
    assert not (out / "best").exists()  # the old best went with the old run: no mix of two runs
    assert json.loads((out / "history.json").read_text())["train_config"]["seed"] == 1
    monkeypatch.setattr(train_mod, "train", real_train)
    assert main(["train", *map(str, TRAIN_ARGS), "--out", str(out), "--overwrite", "--seed", "1"]) == 0
    assert (out / "best" / "model.safetensors").read_bytes() != old_best


@pytest.mark.parametrize("command", [["evaluate", "--dataset", "xlcost"], ["evaluate", "--dataset", "mbpp"],
                                     ["train", *TRAIN_ARGS, "--dataset", "xlcost"]])
@pytest.mark.parametrize("how", ["offline flag", "unreachable endpoint"])
def test_an_unreachable_hub_is_one_error_line_naming_data_dir(run_dir, tmp_path, capsys, monkeypatch, command,
                                                               how):
    if how == "unreachable endpoint":  # no offline flag: a real connection attempt that is refused
        for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    extra = ["--checkpoint", run_dir] if command[0] == "evaluate" else ["--out", tmp_path / "run"]
    code, out, err = run_cli(capsys, *command, *extra)
    assert code == 2 and out == "", err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line, no traceback
    assert "--data-dir" in err and "load_corpus(" not in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_exit_status_is_documented_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "exit status: 0 done; 2 bad input" in text and "130 interrupted" in text


def test_default_output_length_is_the_models_limit(run_dir, capsys):
    """The tiny model's target limit is below 256: the default must not warn about it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a max_new_tokens warning would fail the command
        code, out, err = run_cli(capsys, "generate", "--checkpoint", run_dir, "--threads", 1, "hello")
    assert code == 0 and "exceeds" not in err, err


def test_truncation_warning_points_at_the_caller(run_dir):
    import warnings

    from codegen_lib.decode import generate

    model, tok, _ = train_mod.load_checkpoint(run_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        generate(model, tok, ["word " * 400], max_new_tokens=2)  # longer than max_src_len: truncated
        generate(model, tok, ["word"], max_new_tokens=10_000)  # longer than max_tgt_len: capped
    messages = {str(w.message).split(" ")[0]: w.filename for w in caught}
    assert "prompt" in messages and "max_new_tokens=10000" in messages, [str(w.message) for w in caught]
    assert set(messages.values()) == {__file__}, messages  # this file, not torch/utils/_contextlib.py


@pytest.mark.parametrize("bad", [["--dataset", "nosuchset"], ["--vocab-size", "0"], ["--max-steps", "0"],
                                 ["--data-dir", "/nonexistent/dir"], ["--lr", "-1"]])
def test_train_with_bad_arguments_writes_nothing(tmp_path, capsys, bad):
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", *TRAIN_ARGS, "--out", out, *bad)
    assert code == 2 and "error:" in err
    assert not out.exists(), sorted(p.name for p in out.iterdir())


def test_a_failed_overwrite_keeps_the_previous_run(run_dir, capsys):
    before = sorted(p.name for p in run_dir.iterdir())
    code, _, err = run_cli(capsys, "train", *TRAIN_ARGS, "--out", run_dir, "--overwrite", "--dataset", "nosuchset")
    assert code == 2 and sorted(p.name for p in run_dir.iterdir()) == before and (run_dir / "best").is_dir()


def test_the_progress_bar_counts_the_steps_max_steps_allows(tmp_path, capsys):
    """48 rows in batches of 8 = 6 steps an epoch; --max-steps 8 stops 2 steps into epoch 2: the bar says so."""
    args = [a for a in TRAIN_ARGS if a != "--no-progress"]
    assert main(["train", *args, "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "epoch 1/2:" in err and "epoch 2/2 (stops at max_steps=8)" in err, err
    totals = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"epoch (\d)/2[^|\r\n]*\|[^|]*\|\s*\d+/(\d+)", err)}
    assert totals[2] == 8 - totals[1] and totals[1] > totals[2], totals
