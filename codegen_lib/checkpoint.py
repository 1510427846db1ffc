"""Checkpoints: write one atomically, read one safely, recover from an interrupted swap (chapter 07).

A checkpoint is a directory; a training run (:func:`codegen_lib.train.train`) writes two of them::

    runs/x/
        history.json            # the JSON history (also returned by train())
        best/                   # the checkpoint with the lowest validation loss (what `generate` loads)
        last/                   # the latest checkpoint; `resume=True` continues from it
            model.safetensors   # weights (safetensors: loading never runs code)
            config.json         # model config, train config, tokenizer info, step/epoch, format version
            tokenizer/          # tokenizer.save(...)
            optimizer.pt        # optimizer, scheduler, RNG states, data position (torch.load weights_only)
            history.json        # the history up to this checkpoint (so a resumed run's history is complete)

Atomicity: a checkpoint is written into a fresh temporary directory next to its final place, every file
is flushed to disk, then the complete directory is swapped in with two renames (``last`` -> ``.last.old``,
temporary -> ``last``). A kill at any moment leaves either the old or the new complete checkpoint; if it
lands between the two renames, the next load puts ``.last.old`` back (:func:`recover_checkpoint_dir`).

Safety: weights are read with safetensors and the optimizer state with ``torch.load(weights_only=True)``;
pickle-based files are never loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from codegen_lib.io import atomic_write_text, fsync_file

if TYPE_CHECKING:
    from codegen_lib.train import TrainConfig

__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "load_training_state",
    "resolve_checkpoint",
    "read_config",
    "recover_checkpoint_dir",
    "swap_in",
    "check_resumable",
]

FORMAT_VERSION = 1  # bump when the checkpoint layout changes; load_checkpoint refuses newer versions


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, unsafe (pickled code) or incompatible with its config."""


def recover_checkpoint_dir(directory: str | os.PathLike) -> None:
    """Finish a swap interrupted between its two renames: put ``.name.old`` back when ``name`` is missing."""
    directory = Path(directory)
    old = directory.parent / f".{directory.name}.old"
    if not directory.exists() and old.is_dir() and (old / "config.json").is_file():
        os.replace(old, directory)


def swap_in(tmp: Path, final: Path) -> None:
    """Replace directory ``final`` by the complete directory ``tmp`` (two renames; see the docstring)."""
    old = final.parent / f".{final.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _tokenizer_info(tokenizer) -> dict[str, Any]:
    return {"class": type(tokenizer).__name__, "vocab_size": int(tokenizer.vocab_size)}


def save_checkpoint(directory: str | os.PathLike, model: torch.nn.Module, tokenizer, *,
                    train_config: TrainConfig | None = None, training_state: dict[str, Any] | None = None,
                    history: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Write a complete checkpoint directory atomically (see the module docstring for the layout).

    Args:
        directory: where the checkpoint lives (replaced as a whole if it exists).
        model: a ``Transformer`` (its ``.config`` ModelConfig goes into config.json).
        tokenizer: saved with ``tokenizer.save(directory / "tokenizer")``.
        train_config: recorded in config.json when given.
        training_state: optimizer/scheduler/RNG/position dict, written to ``optimizer.pt``; it must hold
            only tensors, dicts, lists, ints, floats, strings, bools and None.
        history: the training history, written to ``history.json``.
        extra: more JSON-safe fields for config.json (e.g. ``step``, ``epoch``, ``val_loss``).
    Returns the checkpoint path.
    """
    from safetensors.torch import save_model

    final = Path(directory)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        os.chmod(tmp, 0o755)
        save_model(model, str(tmp / "model.safetensors"))  # handles tied (shared) weights
        fsync_file(tmp / "model.safetensors")
        tokenizer.save(tmp / "tokenizer")
        if training_state is not None:
            torch.save(training_state, tmp / "optimizer.pt")
            fsync_file(tmp / "optimizer.pt")
        if history is not None:
            atomic_write_text(tmp / "history.json", json.dumps(history, indent=1))
        config = {
            "format_version": FORMAT_VERSION,
            "model_config": model.config.to_dict(),
            "train_config": train_config.to_dict() if train_config is not None else None,
            "tokenizer": _tokenizer_info(tokenizer),
            **(extra or {}),
        }
        atomic_write_text(tmp / "config.json", json.dumps(config, indent=2))
        for p in tmp.rglob("*"):  # temporary files are private (0600); a finished checkpoint is readable
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A checkpoint directory, or a run directory holding ``best/`` (preferred) or ``last/``."""
    path = Path(path)
    for candidate in (path, path / "best", path / "last"):
        recover_checkpoint_dir(candidate)
        if (candidate / "config.json").is_file():
            return candidate
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: the path does not exist")
    pickled = [p.name for p in path.glob("*") if p.suffix in (".pt", ".pth", ".bin", ".pkl", ".ckpt")]
    hint = (f"; found pickle-based file(s) {pickled}: they are never loaded, because unpickling can run "
            "arbitrary code -- only safetensors weights + JSON config are accepted") if pickled else ""
    raise CheckpointError(f"no checkpoint at {path}: expected config.json there, or a best/ or last/ "
                          f"subdirectory (a run directory written by train()){hint}")


def read_config(ckpt: Path) -> dict[str, Any]:
    try:
        config = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"corrupt checkpoint {ckpt}: config.json is not valid JSON ({e})") from e
    if not isinstance(config, dict) or "model_config" not in config or "format_version" not in config:
        raise CheckpointError(f"corrupt checkpoint {ckpt}: config.json lacks 'format_version'/'model_config'")
    if not isinstance(config["format_version"], int) or config["format_version"] > FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {ckpt} has format_version {config['format_version']!r}; this "
                              f"codegen_lib reads versions <= {FORMAT_VERSION} (upgrade codegen_lib)")
    return config


def _load_tokenizer(ckpt: Path):
    """``tokenizer.load_tokenizer`` reads its own metadata and only ever builds the two known classes."""
    from codegen_lib.tokenizer import load_tokenizer

    if not (ckpt / "tokenizer").is_dir():
        raise CheckpointError(f"corrupt checkpoint {ckpt}: the tokenizer/ directory is missing")
    try:
        return load_tokenizer(ckpt / "tokenizer")
    except Exception as e:  # noqa: BLE001 -- any failure to read the tokenizer files is a corrupt checkpoint
        raise CheckpointError(f"corrupt checkpoint {ckpt}: cannot load tokenizer/ ({type(e).__name__}: {e})") from e


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"):
    """Load a checkpoint for inference: ``(model, tokenizer, info)``. Never executes code from the files.

    Args:
        path: a checkpoint directory, or a run directory (then ``best/`` is used, else ``last/``).
        map_location: the device the weights are loaded onto.
    Returns the model (in eval mode), its tokenizer and ``info`` (config.json as a dict, plus ``"path"``).
    Raises :class:`CheckpointError` for a missing, corrupt or incompatible checkpoint.
    """
    from safetensors import safe_open
    from safetensors.torch import load_model

    from codegen_lib.config import ModelConfig
    from codegen_lib.model import build_model

    ckpt = resolve_checkpoint(path)
    info = read_config(ckpt)
    try:
        model_cfg = ModelConfig.from_dict(info["model_config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"incompatible checkpoint {ckpt}: bad model_config in config.json ({e})") from e
    tokenizer = _load_tokenizer(ckpt)
    sizes = {"tokenizer.vocab_size": tokenizer.vocab_size, "model_config.src_vocab_size": model_cfg.src_vocab_size,
             "model_config.tgt_vocab_size": model_cfg.tgt_vocab_size}
    if "vocab_size" in (info.get("tokenizer") or {}):
        sizes["config.json tokenizer.vocab_size"] = info["tokenizer"]["vocab_size"]
    if len(set(sizes.values())) != 1:
        raise CheckpointError(f"incompatible checkpoint {ckpt}: vocabulary sizes disagree {sizes}")

    weights = ckpt / "model.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"corrupt checkpoint {ckpt}: model.safetensors is missing (pickle-based weights "
                              "such as model.pt are never loaded: unpickling can run arbitrary code)")
    model = build_model(model_cfg)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    try:
        with safe_open(str(weights), framework="pt") as f:
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 -- safetensors raises its own error type for bad headers/truncation
        raise CheckpointError(f"corrupt checkpoint {ckpt}: model.safetensors cannot be read "
                              f"({type(e).__name__}: {e}); is the file truncated or not safetensors?") from e
    wrong = {k: (found[k], expected[k]) for k in found if k in expected and found[k] != expected[k]}
    unknown = sorted(set(found) - set(expected))
    if wrong:
        name, (in_file, in_model) = next(iter(wrong.items()))
        raise CheckpointError(
            f"incompatible checkpoint {ckpt}: the weights do not fit the model built from config.json "
            f"({len(wrong)} shape mismatch(es), e.g. {name}: file {in_file} vs model {in_model}); "
            "wrong vocab size or architecture in config.json?")
    if unknown:
        raise CheckpointError(f"incompatible checkpoint {ckpt}: unexpected weight(s) {unknown[:5]} that the "
                              "model built from config.json does not have")
    try:
        load_model(model, str(weights), strict=True, device=str(map_location))
    except Exception as e:  # noqa: BLE001
        raise CheckpointError(f"incompatible checkpoint {ckpt}: {type(e).__name__}: {e}") from e
    model.to(map_location).eval()
    info["path"] = str(ckpt)
    return model, tokenizer, info


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read ``optimizer.pt`` with ``torch.load(weights_only=True)``: tensors and plain containers only.

    A file carrying pickled code (e.g. an object with ``__reduce__``) is refused with
    :class:`CheckpointError` before anything in it runs.
    """
    ckpt = Path(path)
    file = ckpt / "optimizer.pt"
    if not file.is_file():
        raise CheckpointError(f"checkpoint {ckpt} has no optimizer.pt: it cannot be resumed (only loaded)")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 -- UnpicklingError for unsafe globals, EOF/RuntimeError for corruption
        raise CheckpointError(f"refusing to load {file}: it is corrupt or holds Python objects other than "
                              f"tensors and plain containers, which could run code ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''})") from e
    if not isinstance(state, dict) or not {"optimizer", "scheduler", "rng", "position"} <= set(state):
        raise CheckpointError(f"corrupt checkpoint {file}: expected optimizer/scheduler/rng/position entries")
    return state


def check_resumable(last_dir: Path, model_cfg) -> None:
    """CheckpointError unless ``last_dir`` can be resumed with ``model_cfg`` (same config, a history)."""
    config = read_config(last_dir)
    if config["model_config"] != model_cfg.to_dict():
        diff = {k: (v, model_cfg.to_dict().get(k)) for k, v in config["model_config"].items()
                if model_cfg.to_dict().get(k) != v}
        raise CheckpointError(f"cannot resume from {last_dir}: its model config differs from the one given "
                              f"(checkpoint vs given: {diff})")
    if not (last_dir / "history.json").is_file():
        raise CheckpointError(f"corrupt checkpoint {last_dir}: history.json is missing")
