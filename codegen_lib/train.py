"""Training: the loop, learning-rate schedules, checkpoints and exact resume (chapter 07).

The report trains with cross-entropy and Adam under teacher forcing, but its printed loop fits one fixed
batch for 100 "epochs". :func:`train` is the real thing, and the loop stays on the page -- a short loop
over named steps, with set-up, logging, evaluation and checkpoints in the helpers of ``_Run``:

    while not run.pos["finished"]:
        for batch in run.epoch_loader():          # the epoch's batches; a resumed run skips the done ones
            loss, n_tokens, lr = train_step(...)  # forward, cross-entropy, backward, clip, optimizer step
            run.log_step(loss, n_tokens, lr)      # position, history, progress bar
            run.after_step(callbacks)             # eval_every, callbacks, save_every
        run.end_epoch(callbacks)                  # validation loss, best/last checkpoints, early stopping

:func:`train_step` is the step itself (teacher forcing: ``tgt_in = <bos> + code``, ``tgt_out = code + <eos>``).

HF Accelerate only places tensors on the device, wraps the model for several GPUs and handles bf16/fp16
autocast, so ``accelerate launch -m codegen_lib train ...`` runs this same loop on several GPUs.

Checkpoints (the run directory's ``best/`` and ``last/``, written atomically, read without running code)
are :mod:`codegen_lib.checkpoint`; ``save_checkpoint``, ``load_checkpoint`` and ``CheckpointError`` are
re-exported here. ``history.json`` in the run directory is written atomically too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from codegen_lib.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    check_resumable,
    load_checkpoint,
    load_training_state,
    recover_checkpoint_dir,
    save_checkpoint,
)
from codegen_lib.config import strict_from_dict
from codegen_lib.io import atomic_write_json

__all__ = [
    "TrainConfig",
    "TRAIN_PRESETS",
    "CheckpointError",
    "FORMAT_VERSION",
    "lr_multiplier",
    "train",
    "train_step",
    "save_checkpoint",
    "load_checkpoint",
    "load_training_state",
    "epoch_batches",
    "seed_everything",
    "recover_checkpoint_dir",
]

SCHEDULES = ("noam", "linear", "cosine", "constant")
OPTIMIZERS = ("adam", "adamw")
PRECISIONS = ("auto", "no", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")


# --------------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Every training hyper-parameter (chapter 07). ``max_src_len``/``max_tgt_len`` come from ModelConfig."""

    lr: float = 5e-4  # peak learning rate, reached at the end of warmup
    optimizer: str = "adam"  # "adam" (the report) or "adamw" (decoupled weight decay)
    betas: tuple[float, float] = (0.9, 0.98)  # Adam's moment decay rates (the Transformer paper's values)
    eps: float = 1e-9  # Adam's epsilon (the Transformer paper's value)
    weight_decay: float = 0.0  # L2 (adam) or decoupled (adamw) weight decay
    schedule: str = "noam"  # "noam" | "linear" | "cosine" | "constant": how lr moves after warmup
    warmup_steps: int = 4000  # optimizer steps of linear warmup from ~0 to lr
    label_smoothing: float = 0.0  # 0 = plain cross-entropy (the report); 0.1 is the Transformer paper's
    grad_clip: float | None = 1.0  # max global gradient norm; None = no clipping
    batch_size: int = 32  # examples per optimizer step (per process when several GPUs)
    epochs: int = 20  # passes over the training split (upper bound: see max_steps, patience)
    max_steps: int | None = None  # stop after this many optimizer steps; None = only epochs limit
    patience: int | None = 3  # early stopping: epochs without a better val loss; None = never stop early
    seed: int = 0  # seeds Python, NumPy and torch; the data order is a function of (seed, epoch)
    mixed_precision: str = "auto"  # "auto" = bf16 if the GPU supports it, else fp16; CPU: "no"
    device: str = "auto"  # "auto" (GPU when present) | "cpu" | "cuda"
    bucket: bool = True  # batch examples of similar length (LengthBucketSampler): less padding
    num_workers: int = 0  # DataLoader worker processes for collation (0 = in the main process)
    log_every: int = 10  # steps between progress-bar updates
    eval_every: int = 0  # also compute val loss every N steps (logged only); 0 = once per epoch
    save_every: int = 0  # write the `last` checkpoint every N steps too; 0 = only at the end of each epoch
    progress: bool = True  # show a tqdm progress bar

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)  # JSON gives lists
        if len(self.betas) != 2:
            raise ValueError(f"TrainConfig.betas must hold two numbers, got {self.betas!r}")
        checks = [
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (self.mixed_precision in PRECISIONS,
             f"mixed_precision must be one of {PRECISIONS}, got {self.mixed_precision!r}"),
            (self.device in DEVICES, f"device must be one of {DEVICES}, got {self.device!r}"),
            (self.lr > 0, f"lr must be positive, got {self.lr!r}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size!r}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs!r}"),
            (self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps!r}"),
            (0.0 <= self.label_smoothing < 1.0, f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}"),
            (self.max_steps is None or self.max_steps >= 1, f"max_steps must be >= 1 or None, got {self.max_steps!r}"),
            (self.patience is None or self.patience >= 1, f"patience must be >= 1 or None, got {self.patience!r}"),
            (self.grad_clip is None or self.grad_clip > 0, f"grad_clip must be > 0 or None, got {self.grad_clip!r}"),
            (self.log_every >= 1 and self.eval_every >= 0 and self.save_every >= 0 and self.num_workers >= 0,
             "log_every must be >= 1; eval_every, save_every and num_workers must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"TrainConfig: {message}")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TrainConfig:
        """A named preset (``"seed"``, ``"tiny"``, ``"small"``, ``"improved"``) with fields overridden."""
        if name not in TRAIN_PRESETS:
            raise ValueError(f"unknown train preset {name!r}; choose one of {sorted(TRAIN_PRESETS)}")
        return cls.from_dict({**TRAIN_PRESETS[name], **overrides})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field."""
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        return strict_from_dict(cls, d)


TRAIN_PRESETS: dict[str, dict[str, Any]] = {
    # the report's recipe (Adam, plain cross-entropy, batch 32) plus the Transformer paper's warmup + decay
    "seed": dict(lr=5e-4, optimizer="adam", betas=(0.9, 0.98), weight_decay=0.0, schedule="noam",
                 warmup_steps=4000, label_smoothing=0.0, grad_clip=1.0, batch_size=32, epochs=20, patience=3),
    # CI and the book's fast mode: a few dozen steps on CPU, logged every step
    "tiny": dict(lr=2e-3, optimizer="adam", schedule="linear", warmup_steps=10, label_smoothing=0.0,
                 grad_clip=1.0, batch_size=8, epochs=5, max_steps=40, patience=None, log_every=1),
    # a CPU run of minutes (the `small` model): AdamW, short warmup, cosine decay, light smoothing
    "small": dict(lr=1e-3, optimizer="adamw", weight_decay=0.01, schedule="cosine", warmup_steps=200,
                  label_smoothing=0.1, grad_clip=1.0, batch_size=32, epochs=15, patience=3),
    # the book's improved recipe: AdamW + weight decay, label smoothing 0.1, warmup then cosine decay
    "improved": dict(lr=5e-4, optimizer="adamw", weight_decay=0.01, schedule="cosine", warmup_steps=1000,
                     label_smoothing=0.1, grad_clip=1.0, batch_size=64, epochs=30, patience=5),
}


def lr_multiplier(step: int, *, schedule: str, warmup_steps: int, total_steps: int) -> float:
    """The factor that multiplies the peak ``lr`` at optimizer step ``step`` (0-based) -- used by LambdaLR.

    Every schedule warms up linearly to 1.0 over ``warmup_steps``, then:
    ``noam`` decays as 1/sqrt(step) (the Transformer paper's rule, normalised so that its peak is ``lr``:
    the paper's ``d_model**-0.5 * min(s**-0.5, s * warmup**-1.5)`` equals ``lr * lr_multiplier`` with
    ``lr = (d_model * warmup)**-0.5``); ``linear`` falls to 0 at ``total_steps``; ``cosine`` follows half a
    cosine to 0 at ``total_steps``; ``constant`` stays at 1.
    """
    s = step + 1  # the first optimizer step already gets a non-zero learning rate
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if warmup_steps > 0 and s <= warmup_steps:
        return s / warmup_steps
    if schedule == "noam":
        return math.sqrt(max(warmup_steps, 1) / s)
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (s - warmup_steps) / max(1, total_steps - warmup_steps))
    if schedule == "linear":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * progress))  # cosine


# --------------------------------------------------------------------------------------------------
# reproducibility helpers
# --------------------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) random generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    """Every RNG state as tensors/lists/ints/floats only, so ``torch.load(weights_only=True)`` reads it."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": [version, list(internal), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(x) for x in internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def epoch_batches(lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int, shuffle: bool = True,
                  bucket: bool = True) -> list[list[int]]:
    """The batches (lists of row indices) of one epoch: a pure function of ``(seed, epoch)``.

    Because the order never depends on hidden iterator state, a resumed run rebuilds the same epoch and
    skips the batches it has already trained on. ``bucket=True`` groups rows of similar length
    (``LengthBucketSampler``); otherwise a seeded random permutation is cut into batches.
    """
    if bucket:
        from codegen_lib.batching import LengthBucketSampler

        sampler = LengthBucketSampler(list(lengths), batch_size, shuffle=shuffle, seed=seed)
        sampler.set_epoch(epoch)
        return [list(b) for b in sampler]
    epoch_seed = seed * 100_003 + epoch
    n = len(lengths)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed)).tolist() if shuffle \
        else list(range(n))
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


# --------------------------------------------------------------------------------------------------
# the training loop
# --------------------------------------------------------------------------------------------------


def _make_accelerator(cfg: TrainConfig):
    from accelerate import Accelerator

    use_cpu = cfg.device == "cpu" or not torch.cuda.is_available()
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("TrainConfig.device='cuda' but no CUDA GPU is available; use 'auto' or 'cpu'")
    precision = cfg.mixed_precision
    if use_cpu:
        precision = "no"  # no autocast on CPU: exact, deterministic float32
    elif precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return Accelerator(cpu=use_cpu, mixed_precision=precision)


def _make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return cls(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)


def _callback(callbacks: Iterable, event: str, state: dict[str, Any]) -> None:
    """Objects get ``on_step_end/on_epoch_end/on_train_end(state)``; plain callables get every step."""
    for cb in callbacks:
        method = getattr(cb, event, None)
        if method is not None:
            method(state)
        elif callable(cb) and event == "on_step_end":
            cb(state)


@torch.no_grad()
def _val_loss(model, batches, rows, collate, accelerator, pad_id: int) -> float:
    """Token-level cross-entropy (no label smoothing) over the validation batches."""
    model.eval()
    total = torch.zeros(2, device=accelerator.device)  # [sum of token losses, number of tokens]
    for idx in batches:
        batch = collate([rows[i] for i in idx])
        src, tgt_in, tgt_out = (batch[k].to(accelerator.device) for k in ("src", "tgt_in", "tgt_out"))
        with accelerator.autocast():
            logits = model(src, tgt_in)  # (B, T, V)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), tgt_out.reshape(-1),
                               ignore_index=pad_id, reduction="sum")
        total += torch.stack([loss, (tgt_out != pad_id).sum().float()])
    total = accelerator.reduce(total, reduction="sum")
    model.train()
    return (total[0] / total[1].clamp(min=1)).item()


class _Rows(torch.utils.data.Dataset):
    """Map-style view of a datasets.Dataset / list of dicts, yielding {"prompt", "code"} rows."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict[str, str]:
        row = self.ds[int(i)]
        return {"prompt": row["prompt"], "code": row["code"]}


def train(model_cfg, train_cfg: TrainConfig, tokenizer, train_ds, val_ds, out_dir: str | os.PathLike,
          callbacks: Sequence = (), resume: bool = False, *, model: torch.nn.Module | None = None,
          collate_fn: Callable | None = None) -> dict[str, Any]:
    """Train a Transformer with teacher forcing; write checkpoints and history to ``out_dir`` (chapter 07).

    Args:
        model_cfg: a ``ModelConfig``; its vocab sizes must equal ``tokenizer.vocab_size``. With ``slots``
            set, the rows are slot-canonicalized here (``slots.canonicalize_rows``: rows that already are
            come back unchanged), as ``generate`` canonicalizes requests, and the tokenizer must hold the
            slot tokens.
        train_cfg: a :class:`TrainConfig`.
        tokenizer: a ``CodeTokenizer`` (saved into every checkpoint).
        train_ds, val_ds: datasets (or lists of dicts) with ``prompt`` and ``code`` columns; ``val_ds`` may
            be None (then there is no validation loss, no best checkpoint and no early stopping).
        out_dir: the run directory (``best/``, ``last/``, ``history.json``).
        callbacks: objects with any of ``on_step_end(state)``, ``on_epoch_end(state)``, ``on_train_end(state)``,
            ``on_checkpoint(state)`` (after a checkpoint directory is written: directory, step), or plain
            callables (called at every step). ``state`` is a dict (step, epoch, loss, lr, tokens_per_s,
            val_loss, history).
        resume: continue exactly from ``out_dir/last`` (weights, optimizer, scheduler, RNG, data position).
        model: train this model instead of ``build_model(model_cfg)`` (its config must match).
        collate_fn: replaces ``Seq2SeqCollator(tokenizer, max_src_len, max_tgt_len)``.
    Returns the history dict (also saved as ``out_dir/history.json``).
    """
    run = _Run.start(model_cfg, train_cfg, tokenizer, train_ds, val_ds, Path(out_dir), resume, model, collate_fn)
    run.callbacks = callbacks
    while not run.pos["finished"]:
        for batch in run.epoch_loader():  # this epoch's batches; a resumed run skips those it trained on
            loss, n_tokens, lr = train_step(run.model, batch, run.optimizer, run.scheduler, run.accelerator,
                                            pad_id=run.pad_id, label_smoothing=run.cfg.label_smoothing,
                                            grad_clip=run.cfg.grad_clip)
            run.log_step(loss, n_tokens, lr)  # position, history, progress bar
            run.after_step(callbacks)  # eval_every validation, step callbacks, save_every checkpoint
        run.end_epoch(callbacks)  # validation loss, best and last checkpoints, early stopping
    return run.finish(callbacks)


def train_step(model: torch.nn.Module, batch: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer,
               scheduler, accelerator, *, pad_id: int, label_smoothing: float = 0.0,
               grad_clip: float | None = 1.0) -> tuple[float, int, float]:
    """One optimizer step of teacher forcing (chapter 07): forward, loss, backward, clip, step.

    ``batch`` holds ``src`` (B, S), ``tgt_in`` (B, T) = <bos> + code and ``tgt_out`` (B, T) = code + <eos>.
    Returns the loss (a float), the number of target tokens that count (not padding) and the learning rate
    this step used.
    """
    src, tgt_in, tgt_out = (batch[k].to(accelerator.device) for k in ("src", "tgt_in", "tgt_out"))
    # forward: teacher forcing -- position t sees <bos> + code[:t] and predicts code[t] (or <eos>)
    with accelerator.autocast():
        logits = model(src, tgt_in)  # (B, T, V)
    # loss: token-level cross-entropy; <pad> positions are ignored
    loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)),  # (B*T, V)
                           tgt_out.reshape(-1),  # (B*T,)
                           ignore_index=pad_id, label_smoothing=label_smoothing)
    # backward and step
    optimizer.zero_grad(set_to_none=True)
    accelerator.backward(loss)  # loss.backward(), scaled under fp16
    if grad_clip is not None:
        accelerator.clip_grad_norm_(model.parameters(), grad_clip)
    lr = optimizer.param_groups[0]["lr"]  # the rate this step uses
    optimizer.step()
    if not accelerator.optimizer_step_was_skipped:  # fp16 overflow skips a step; keep lr in sync
        scheduler.step()
    return loss.item(), int((tgt_out != pad_id).sum()), lr


class _Run:
    """Everything one call of :func:`train` holds: the set-up, the position in the data, the history, and
    the helpers the loop calls (logging, evaluation, checkpoints). Built by :meth:`start`."""

    callbacks: Sequence = ()  # set by train(); on_checkpoint events go to them

    # ------------------------------------------------------------------------------------ set-up
    @classmethod
    def start(cls, model_cfg, cfg: TrainConfig, tokenizer, train_ds, val_ds, out_dir: Path, resume: bool,
              model: torch.nn.Module | None, collate_fn: Callable | None) -> _Run:
        """Check the inputs, tokenize, build model/optimizer/schedule, restore a checkpoint on resume."""
        from codegen_lib.batching import Seq2SeqCollator, encode_rows, example_lengths

        run = cls()
        run.cfg, run.model_cfg, run.tokenizer, run.out_dir = cfg, model_cfg, tokenizer, out_dir
        for name in ("src_vocab_size", "tgt_vocab_size"):
            if getattr(model_cfg, name) != tokenizer.vocab_size:
                raise ValueError(f"model_cfg.{name} ({getattr(model_cfg, name)}) != tokenizer.vocab_size "
                                 f"({tokenizer.vocab_size}); build it with ModelConfig.preset(name, "
                                 "src_vocab_size=tok.vocab_size, tgt_vocab_size=tok.vocab_size)")
        if len(train_ds) == 0:
            raise ValueError("train_ds is empty: nothing to train on")
        if getattr(model_cfg, "slots", False):  # the model reads slot-canonicalized requests (chapter 02)
            from codegen_lib.slots import canonicalize_rows

            if not getattr(tokenizer, "slot_ids", []):
                raise ValueError("model_cfg.slots is set but the tokenizer has no slot tokens: train it with "
                                 "train_tokenizer(texts, added_tokens=codegen_lib.slots.SLOT_TOKENS)")
            train_ds = canonicalize_rows(train_ds)  # as generate() will read them
            val_ds = None if val_ds is None else canonicalize_rows(val_ds)
        run.last_dir = out_dir / "last"
        recover_checkpoint_dir(run.last_dir)
        if resume and not (run.last_dir / "config.json").is_file():
            raise CheckpointError(f"resume=True but there is no checkpoint at {run.last_dir} to continue from")

        accelerator = run.accelerator = _make_accelerator(cfg)
        seed_everything(cfg.seed)
        if model is None:
            from codegen_lib.model import build_model

            model = build_model(model_cfg)
        elif getattr(model, "config", None) is not None and model.config.to_dict() != model_cfg.to_dict():
            raise ValueError("the model passed to train() was built from a different ModelConfig than model_cfg")
        run.pad_id = model_cfg.pad_id
        # tokenize once; the default collator takes pre-tokenized rows, a custom one gets {"prompt", "code"}
        encoded = encode_rows(train_ds, tokenizer)
        run.lengths = example_lengths(encoded, model_cfg.max_src_len, model_cfg.max_tgt_len)
        run.rows = encoded if collate_fn is None else _Rows(train_ds)
        if collate_fn is None:
            collate_fn = Seq2SeqCollator(tokenizer, model_cfg.max_src_len, model_cfg.max_tgt_len)
        run.collate_fn = collate_fn
        run.world, run.rank = accelerator.num_processes, accelerator.process_index

        steps_per_epoch = len(run.my_batches(0))
        if steps_per_epoch == 0:
            raise ValueError(f"train_ds has {len(run.rows)} rows: too few for one batch on each of "
                             f"{run.world} processes")
        total_steps = cfg.epochs * steps_per_epoch if cfg.max_steps is None \
            else min(cfg.max_steps, cfg.epochs * steps_per_epoch)
        run.val_batches, run.val_rows = [], None
        if val_ds is not None and len(val_ds) > 0:
            val_encoded = encode_rows(val_ds, tokenizer)
            run.val_rows = val_encoded if run.rows is encoded else _Rows(val_ds)
            val_lengths = example_lengths(val_encoded, model_cfg.max_src_len, model_cfg.max_tgt_len)
            run.val_batches = epoch_batches(val_lengths, cfg.batch_size, seed=cfg.seed, epoch=0, shuffle=False,
                                            bucket=cfg.bucket)[run.rank::run.world]

        optimizer = _make_optimizer(model, cfg)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_multiplier(
            s, schedule=cfg.schedule, warmup_steps=cfg.warmup_steps, total_steps=total_steps))

        # where we are: everything needed to rebuild the data stream and the early-stopping decision
        run.pos = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "epoch_loss_sum": 0.0, "epoch_tokens": 0,
                   "best_val_loss": None, "bad_epochs": 0, "finished": False}
        run.history = {"format_version": FORMAT_VERSION, "steps": [], "epochs": [], "step_val": [],
                       "model_config": model_cfg.to_dict(), "train_config": cfg.to_dict(),
                       "total_steps": total_steps, "steps_per_epoch": steps_per_epoch, "train_time_s": 0.0}
        state = None
        if resume:
            check_resumable(run.last_dir, model_cfg)
            state = load_training_state(run.last_dir)
            from safetensors.torch import load_model

            load_model(model, str(run.last_dir / "model.safetensors"), strict=True)
            optimizer.load_state_dict(state["optimizer"])  # restores the current lr too
            scheduler.load_state_dict(state["scheduler"])
            run.pos = dict(state["position"])
            run.history = json.loads((run.last_dir / "history.json").read_text(encoding="utf-8"))
        run.model, run.optimizer = accelerator.prepare(model, optimizer)
        run.scheduler = scheduler
        if state is not None:
            if accelerator.scaler is not None and state.get("scaler"):
                accelerator.scaler.load_state_dict(state["scaler"])
            _set_rng_state(state["rng"])  # last: dropout continues with exactly the saved random stream
        device = run.device = accelerator.device
        run.history.update(device=str(device) + (f" ({torch.cuda.get_device_name(device)})"
                                                 if device.type == "cuda" else ""),
                           mixed_precision=accelerator.mixed_precision, num_processes=run.world)
        run.start_time = time.perf_counter()
        run.time_offset = run.history["train_time_s"]
        run.bar = None
        run.model.train()
        return run

    def my_batches(self, epoch: int) -> list[list[int]]:
        """This process's share of the epoch's batches (every process gets the same number)."""
        batches = epoch_batches(self.lengths, self.cfg.batch_size, seed=self.cfg.seed, epoch=epoch,
                                bucket=self.cfg.bucket)
        return batches[: len(batches) // self.world * self.world][self.rank::self.world] if self.world > 1 \
            else batches

    # ------------------------------------------------------------------------------------ the data
    def epoch_loader(self):
        """The batches of the current epoch not trained on yet, behind a progress bar; stops at max_steps."""
        from tqdm.auto import tqdm

        cfg, pos = self.cfg, self.pos
        epoch = pos["epoch"]
        batches = self.my_batches(epoch)[pos["step_in_epoch"]:]  # skip what a resumed run already trained on
        desc = f"epoch {epoch + 1}/{cfg.epochs}"
        if cfg.max_steps is not None and pos["global_step"] + len(batches) > cfg.max_steps:
            # max_steps ends training inside this epoch: run (and show) only the steps that are left
            batches = batches[: max(0, cfg.max_steps - pos["global_step"])]
            desc += f" (stops at max_steps={cfg.max_steps})"
        loader = torch.utils.data.DataLoader(self.rows, batch_sampler=batches, collate_fn=self.collate_fn,
                                             num_workers=cfg.num_workers,
                                             generator=torch.Generator().manual_seed(cfg.seed))  # not the global RNG
        self.bar = tqdm(loader, total=len(batches), desc=desc, dynamic_ncols=True,
                        disable=not (cfg.progress and self.accelerator.is_local_main_process), leave=False)
        self.epoch_start = self.tick = time.perf_counter()
        for batch in self.bar:
            if cfg.max_steps is not None and pos["global_step"] >= cfg.max_steps:
                break
            yield batch
        self.bar.close()

    # ------------------------------------------------------------------------------------ logging
    def log_step(self, loss_value: float, n_tokens: int, lr: float) -> None:
        """Advance the position; record the step in the history and on the progress bar."""
        pos, now = self.pos, time.perf_counter()
        tokens_per_s = n_tokens / max(now - self.tick, 1e-9)
        self.tick = now
        pos["global_step"] += 1
        pos["step_in_epoch"] += 1
        pos["epoch_loss_sum"] += loss_value * n_tokens
        pos["epoch_tokens"] += n_tokens
        self.history["steps"].append({"step": pos["global_step"], "epoch": pos["epoch"], "loss": loss_value,
                                      "lr": lr, "tokens": n_tokens, "tokens_per_s": tokens_per_s,
                                      "time_s": self.time_offset + now - self.start_time})
        if pos["global_step"] % self.cfg.log_every == 0:
            self.bar.set_postfix(loss=f"{loss_value:.3f}", tok_s=f"{tokens_per_s:,.0f}", lr=f"{lr:.2e}")

    # ------------------------------------------------------------------------------------ evaluation
    def val_loss(self) -> float | None:
        """Plain cross-entropy on the validation split (None without one)."""
        if not self.val_batches:
            return None
        return _val_loss(self.model, self.val_batches, self.val_rows, self.collate_fn, self.accelerator,
                         self.pad_id)

    def after_step(self, callbacks: Sequence) -> None:
        """Mid-epoch validation loss (``eval_every``), the step callbacks, a ``last`` checkpoint
        (``save_every``)."""
        cfg, step = self.cfg, self.pos["global_step"]
        if cfg.eval_every and step % cfg.eval_every == 0 and self.val_batches:
            self.history["step_val"].append({"step": step, "val_loss": self.val_loss()})
        last = self.history["steps"][-1]
        _callback(callbacks, "on_step_end", {"step": step, "epoch": last["epoch"], "loss": last["loss"],
                                             "lr": last["lr"], "tokens_per_s": last["tokens_per_s"],
                                             "history": self.history})
        if cfg.save_every and step % cfg.save_every == 0:
            self.history["train_time_s"] = self.time_offset + time.perf_counter() - self.start_time
            self.checkpoint(self.last_dir, with_state=True, val_loss=None)

    def end_epoch(self, callbacks: Sequence) -> None:
        """Validation loss, best checkpoint, early stopping, ``last`` checkpoint, epoch callbacks."""
        cfg, pos, history = self.cfg, self.pos, self.history
        epoch = pos["epoch"]
        val_loss = self.val_loss()
        train_loss = pos["epoch_loss_sum"] / max(pos["epoch_tokens"], 1)
        epoch_time = time.perf_counter() - self.epoch_start
        history["epochs"].append({"epoch": epoch, "step": pos["global_step"], "train_loss": train_loss,
                                  "val_loss": val_loss, "lr": self.optimizer.param_groups[0]["lr"],
                                  "tokens_per_s": pos["epoch_tokens"] / max(epoch_time, 1e-9)})
        improved = val_loss is not None and (pos["best_val_loss"] is None or val_loss < pos["best_val_loss"])
        if improved:
            pos["best_val_loss"], pos["bad_epochs"] = val_loss, 0
            history["best_val_loss"], history["best_epoch"] = val_loss, epoch
        elif val_loss is not None:
            pos["bad_epochs"] += 1
        early = cfg.patience is not None and pos["bad_epochs"] >= cfg.patience
        out_of_steps = cfg.max_steps is not None and pos["global_step"] >= cfg.max_steps
        pos.update(epoch=epoch + 1, step_in_epoch=0, epoch_loss_sum=0.0, epoch_tokens=0,
                   finished=early or out_of_steps or epoch + 1 >= cfg.epochs)
        history["stopped_early"] = early
        history["train_time_s"] = self.time_offset + time.perf_counter() - self.start_time
        if improved:
            self.checkpoint(self.out_dir / "best", with_state=False, val_loss=val_loss)
        self.checkpoint(self.last_dir, with_state=True, val_loss=val_loss)
        _callback(callbacks, "on_epoch_end", {"step": pos["global_step"], "epoch": epoch, "train_loss": train_loss,
                                              "val_loss": val_loss, "history": history})
        if self.accelerator.is_main_process and cfg.progress:
            print(f"epoch {epoch + 1}: train loss {train_loss:.4f}"
                  + (f", val loss {val_loss:.4f}" if val_loss is not None else "")
                  + (" (early stop)" if early else ""))

    # ------------------------------------------------------------------------------------ checkpoints
    def checkpoint(self, directory: Path, with_state: bool, val_loss: float | None) -> None:
        """Main process writes; every process waits so that nobody reads a half-written run."""
        accelerator, pos = self.accelerator, self.pos
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            training_state = None
            if with_state:
                training_state = {"optimizer": self.optimizer.state_dict(),
                                  "scheduler": self.scheduler.state_dict(),
                                  "scaler": accelerator.scaler.state_dict() if accelerator.scaler else None,
                                  "rng": _rng_state(), "position": dict(pos)}
            save_checkpoint(directory, accelerator.unwrap_model(self.model), self.tokenizer, train_config=self.cfg,
                            training_state=training_state, history=self.history,
                            extra={"step": pos["global_step"], "epoch": pos["epoch"], "val_loss": val_loss})
            atomic_write_json(self.out_dir / "history.json", self.history, indent=1)
            _callback(self.callbacks, "on_checkpoint", {"directory": directory, "step": pos["global_step"]})
        accelerator.wait_for_everyone()

    def finish(self, callbacks: Sequence) -> dict[str, Any]:
        """Without a validation split the final weights are the "best"; then the end-of-training callbacks."""
        if not self.val_batches:
            self.checkpoint(self.out_dir / "best", with_state=False, val_loss=None)
        _callback(callbacks, "on_train_end", {"step": self.pos["global_step"], "epoch": self.pos["epoch"],
                                              "history": self.history})
        return self.history
