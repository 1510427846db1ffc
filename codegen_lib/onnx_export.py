"""Export a checkpoint to ONNX for the book's in-page "Try it" view (chapter 08, issue 19).

Two graphs share one weight file:

* ``encoder.onnx``: ``src`` (B, S) ids -> the cross-attention keys and values of every decoder layer,
  ``cross_k_i`` / ``cross_v_i`` (B, H, S, d_k): the encoder runs once per prompt, and the decoder layers
  project its output once (what :class:`codegen_lib.model.KVCache` caches on the first step);
* ``decoder_step.onnx``: one decoder step. Inputs: ``tokens`` (B, 1), the newest token of each row;
  ``src`` (B, S), the source ids (their padding mask; the copy head's targets); the cross keys/values; and
  the self-attention cache ``past_k_i`` / ``past_v_i`` (B, H, L, d_k) of the L tokens before (L = 0 at
  ``<bos>``). Outputs: ``scores`` (B, V), what ``Transformer.project`` gives for the step (logits, or the
  copy head's log-probabilities; decoding takes their argmax / log_softmax either way); ``present_k_i`` /
  ``present_v_i`` (B, H, L + 1, d_k), the cache for the next step; and ``cross_attention``
  (B, layers, H, S), the step's cross-attention weights, for the heatmap.

Every length is dynamic. The weights live in ``weights.bin`` (ONNX external data), each stored once even
where both graphs use it (tied embeddings), in float16; a ``Cast`` turns them into float32 where the graph
reads them, so the arithmetic is float32 like PyTorch's. The shipped weights are float16 already, so the
cast is exact and greedy ids match :func:`codegen_lib.decode.generate`.

``manifest.json`` tells the page what it needs: file names, special ids, layer/head counts, length limits,
the decoding defaults of :func:`~codegen_lib.decode.generate`, and the model's options (copy head, slots).

Command line: ``codegen export-onnx CHECKPOINT OUT`` (``shipped`` = the repository's model).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .layers import LayerCache
from .model import KVCache, Transformer

__all__ = ["EncoderExport", "DecoderStepExport", "export_onnx", "OnnxGenerator", "MANIFEST",
           "quantize_int8", "torch_greedy_ids", "checkpoint_sha256"]

MANIFEST = "manifest.json"
WEIGHTS = "weights.bin"
ENCODER = "encoder.onnx"
DECODER = "decoder_step.onnx"
FORMAT_VERSION = 1


def _config_flag(model: Transformer, name: str) -> bool:
    return bool(getattr(model.config, name, False))


def project_scores(model: Transformer, hidden: torch.Tensor, src: torch.Tensor,
                   cross: list[torch.Tensor]) -> torch.Tensor:
    """Output scores (B, T, V) of decoder states ``hidden`` (B, T, D), as decoding computes them.

    ``cross`` holds every decoder layer's cross-attention (B, H, T, S); a copy head reads the last layer's
    mean over heads. Models without ``project`` (before the copy head) use ``fc``.
    """
    if hasattr(model, "project"):
        return model.project(hidden, src=src, cross=cross[-1].mean(dim=1))  # (B, T, V)
    return model.fc(hidden)  # (B, T, V)


class EncoderExport(nn.Module):
    """src (B, S) -> cross keys and values of every decoder layer, 2 * layers tensors (B, H, S, d_k)."""

    def __init__(self, model: Transformer):
        super().__init__()
        self.model = model

    def forward(self, src: torch.Tensor) -> tuple[torch.Tensor, ...]:
        src_mask = (src != self.model.pad_id).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, S)
        memory = self.model.encode(src, src_mask)  # (B, S, D)
        out = []
        for layer in self.model.decoder_layers:
            k, v = layer.cross_attn.project_kv(memory, memory)  # (B, H, S, d_k) each
            out += [k, v]
        return tuple(out)


class DecoderStepExport(nn.Module):
    """One decoder step with its KV cache (see the module docstring for the inputs and outputs)."""

    def __init__(self, model: Transformer):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, src: torch.Tensor, *caches: torch.Tensor):
        n = len(self.model.decoder_layers)
        cross, past = caches[: 2 * n], caches[2 * n:]
        cache = KVCache(n)
        for i in range(n):
            cache.layers[i] = LayerCache(self_k=past[2 * i], self_v=past[2 * i + 1],
                                         cross_k=cross[2 * i], cross_v=cross[2 * i + 1])
        src_mask = (src != self.model.pad_id).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, S)
        # no encoder output: every layer reads the cross keys/values cached from it
        hidden, _, cross_w = self.model.decode(tokens, None, src_mask, cache=cache,
                                               return_attention=True)  # (B, 1, D), [(B, H, 1, S)] * n
        scores = project_scores(self.model, hidden, src, cross_w)[:, -1]  # (B, V)
        present = []
        for layer in cache.layers:
            present += [layer.self_k, layer.self_v]  # (B, H, L + 1, d_k) each
        weights = torch.stack([w[:, :, -1] for w in cross_w], dim=1)  # (B, layers, H, S)
        return (scores, weights, *present)


def _names(n: int) -> dict[str, list[str]]:
    cross = [f"cross_{kv}_{i}" for i in range(n) for kv in "kv"]
    past = [f"past_{kv}_{i}" for i in range(n) for kv in "kv"]
    present = [f"present_{kv}_{i}" for i in range(n) for kv in "kv"]
    return {"cross": cross, "past": past, "present": present}


def _export(module: nn.Module, args: tuple, path: Path, input_names: list[str], output_names: list[str],
            dynamic_axes: dict[str, dict[int, str]]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes are not ours
        torch.onnx.export(module, args, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=17, dynamo=False,
                          do_constant_folding=False)  # weights stay as trained (no transposed copies)


def _store_external(models: dict[str, Any], out: Path, param_bytes: set[bytes],
                    dtype: str = "float16") -> dict[str, int]:
    """Move every float32 initializer that is a model parameter into ``weights.bin`` (each distinct tensor
    once); in float16 with a Cast back to float32 where the graph reads it, or as float32. The rest stays
    inline. Returns byte counts."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    blob = bytearray()
    where: dict[str, tuple[int, int]] = {}  # sha256 of the fp16 bytes -> (offset, length)
    for model in models.values():
        graph = model.graph
        keep, casts = [], []
        for init in graph.initializer:
            arr = numpy_helper.to_array(init)
            if arr.dtype != np.float32 or hashlib.sha256(arr.tobytes()).digest() not in param_bytes:
                keep.append(init)
                continue
            half = arr.astype(np.float16) if dtype == "float16" else arr
            raw = half.tobytes()
            key = hashlib.sha256(raw).hexdigest()
            if key not in where:
                pad = (-len(blob)) % 64  # aligned offsets
                blob += b"\0" * pad
                where[key] = (len(blob), len(raw))
                blob += raw
            offset, length = where[key]
            t = onnx.TensorProto()
            t.name = init.name + "_fp16" if dtype == "float16" else init.name
            t.data_type = TensorProto.FLOAT16 if dtype == "float16" else TensorProto.FLOAT
            t.dims.extend(arr.shape)
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", WEIGHTS), ("offset", str(offset)), ("length", str(length))):
                e = t.external_data.add()
                e.key, e.value = k, v
            keep.append(t)
            if dtype == "float16":
                casts.append(helper.make_node("Cast", [t.name], [init.name], to=TensorProto.FLOAT,
                                              name=init.name + "_cast"))
        del graph.initializer[:]
        graph.initializer.extend(keep)
        nodes = list(graph.node)
        del graph.node[:]
        graph.node.extend(casts + nodes)
    (out / WEIGHTS).write_bytes(bytes(blob))
    return {"weights_bytes": len(blob)}


def export_onnx(checkpoint: str | os.PathLike | Transformer, out: str | os.PathLike, *,
                tokenizer=None, weights_dtype: str = "float16") -> dict[str, Any]:
    """Write ``encoder.onnx``, ``decoder_step.onnx``, ``weights.bin``, ``tokenizer.json`` and
    ``manifest.json`` into ``out`` (created; existing files of those names are replaced).

    Args:
        checkpoint: a checkpoint directory (``codegen_lib.train.load_checkpoint``), or a model (then pass
            its ``tokenizer``).
        out: the output directory.
        weights_dtype: ``"float16"`` (served: half the bytes; computed in float32) or ``"float32"``.
    Returns the manifest (a dict). Every graph is checked with ``onnx.checker``.
    """
    import onnx

    if weights_dtype not in ("float16", "float32"):
        raise ValueError(f"weights_dtype must be 'float16' or 'float32', got {weights_dtype!r}")
    source_sha = None
    if isinstance(checkpoint, Transformer):
        if tokenizer is None:
            raise ValueError("export_onnx(model, ...) needs tokenizer=")
        model = checkpoint
    else:
        from .train import load_checkpoint

        model, tokenizer, info = load_checkpoint(checkpoint, map_location="cpu")
        source_sha = checkpoint_sha256(info["path"])
    backend = getattr(tokenizer, "backend", None)
    if backend is None or not hasattr(backend, "to_str"):
        raise ValueError("the in-page view needs a CodeTokenizer (a Hugging Face tokenizer.json)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(model).float().cpu().eval()  # the caller's model stays as it was
    cfg = model.config
    n, H, d_k = cfg.num_layers, cfg.num_heads, cfg.d_k
    names = _names(n)
    with torch.no_grad():
        src = torch.tensor([[5, 6, 7, 8, tokenizer.eos_id]])  # (1, S)
        enc = EncoderExport(model)
        cross = enc(src)
        _export(enc, (src,), out / ENCODER, ["src"], names["cross"],
                {"src": {0: "batch", 1: "src_len"}, **{c: {0: "batch", 2: "src_len"} for c in names["cross"]}})
        tokens = torch.tensor([[tokenizer.bos_id]])  # (1, 1)
        past = [torch.zeros(1, H, 2, d_k) for _ in range(2 * n)]  # a non-empty example; L is dynamic
        dyn = {"tokens": {0: "batch"}, "src": {0: "batch", 1: "src_len"}, "scores": {0: "batch"},
               "cross_attention": {0: "batch", 3: "src_len"}}
        dyn.update({c: {0: "batch", 2: "src_len"} for c in names["cross"]})
        dyn.update({p: {0: "batch", 2: "past_len"} for p in names["past"]})
        dyn.update({p: {0: "batch", 2: "present_len"} for p in names["present"]})
        _export(DecoderStepExport(model), (tokens, src, *cross, *past), out / DECODER,
                ["tokens", "src", *names["cross"], *names["past"]],
                ["scores", "cross_attention", *names["present"]], dyn)
    params = set()  # the parameters (and their transposes, should an exporter pre-transpose a weight)
    for p in model.parameters():
        a = p.detach().float().numpy()
        params |= {hashlib.sha256(np.ascontiguousarray(x).tobytes()).digest() for x in (a, a.T)}
    graphs = {name: onnx.load(str(out / name)) for name in (ENCODER, DECODER)}
    sizes = _store_external(graphs, out, params, weights_dtype)
    for name, graph in graphs.items():
        onnx.save(graph, str(out / name))
        onnx.checker.check_model(str(out / name))  # the path form also checks the external data
    (out / "tokenizer.json").write_text(backend.to_str(), encoding="utf-8")
    manifest = {
        "format_version": FORMAT_VERSION,
        "encoder": ENCODER, "decoder_step": DECODER, "weights": WEIGHTS, "tokenizer": "tokenizer.json",
        "num_layers": n, "num_heads": H, "d_k": d_k, "vocab_size": cfg.tgt_vocab_size,
        "max_src_len": cfg.max_src_len, "max_tgt_len": cfg.max_tgt_len,
        "pad_id": tokenizer.pad_id, "bos_id": tokenizer.bos_id, "eos_id": tokenizer.eos_id,
        "special_ids": sorted(_special_ids(tokenizer)),
        "copy_head": _config_flag(model, "copy_head"), "slots": _config_flag(model, "slots"),
        # slot tokens (var_0 ...): a row may only emit those its source holds (decode.Stepper)
        "slot_ids": list(getattr(tokenizer, "slot_ids", [])) if _config_flag(model, "slots") else [],
        "scores": "log_probs" if _config_flag(model, "copy_head") else "logits",
        "decoding": _generate_defaults(cfg.max_tgt_len),
        "weights_dtype": weights_dtype,
        "checkpoint_sha256": source_sha,  # which checkpoint this is (the page's files are regenerated on change)
        "files_bytes": {name: (out / name).stat().st_size for name in (ENCODER, DECODER, WEIGHTS)},
        **sizes,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def _generate_defaults(max_tgt_len: int) -> dict[str, Any]:
    """``decode.generate``'s defaults, which the page mirrors (read from its signature, so they follow it);
    ``max_new_tokens`` is capped at the model's target limit, as generate caps it."""
    import inspect

    from .decode import generate

    params = inspect.signature(generate).parameters
    d = {k: params[k].default for k in ("max_new_tokens", "min_new_tokens", "no_repeat_ngram_size",
                                        "beam_size", "length_penalty")}
    d["max_new_tokens"] = min(d["max_new_tokens"], max_tgt_len)
    return d


def checkpoint_sha256(directory: str | os.PathLike) -> str:
    """sha256 over a checkpoint's ``config.json`` and ``model.safetensors``: names the exported model."""
    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        h.update((Path(directory) / name).read_bytes())
    return h.hexdigest()


def _special_ids(tokenizer) -> set[int]:
    """Ids that ``decode(..., skip_special_tokens=True)`` drops (the added tokens marked special)."""
    backend = tokenizer.backend
    return {i for i, t in backend.get_added_tokens_decoder().items() if t.special}


# ----------------------------------------------------------------------------------------------------------
# Decoding through onnxruntime: the page's loop, in Python (the parity test and the benchmarks use it)
# ----------------------------------------------------------------------------------------------------------
def _process_scores(scores: np.ndarray, seqs: list[list[int]], step: int, m: dict[str, Any],
                    banned: list[int] = ()) -> np.ndarray:
    """``decode._process_logits`` on a (N, V) float32 array; ``seqs`` are the generated ids per row;
    ``banned``: slot ids absent from the source (``decode.Stepper``)."""
    scores = scores.astype(np.float32).copy()
    eos = m["eos_id"]
    if len(banned):
        scores[:, list(banned)] = -np.inf
    scores[:, [i for i in (m["pad_id"], m["bos_id"]) if i != eos]] = -np.inf
    d = m["decoding"]
    if step < d["min_new_tokens"]:
        scores[:, eos] = -np.inf
    n = d["no_repeat_ngram_size"]
    if n > 0:
        from .decode import banned_ngram_tokens

        for row, seq in enumerate(seqs):
            scores[row, banned_ngram_tokens(seq, n)] = -np.inf
    dead = np.isinf(scores).all(axis=-1)
    scores[dead, eos] = 0.0
    return scores


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


class OnnxGenerator:
    """Greedy decoding and beam search through onnxruntime, one prompt at a time, as the page does them.

    Args:
        directory: what :func:`export_onnx` wrote.
        quantized: load ``*.int8.onnx`` (from :func:`quantize_int8`) instead.
    """

    def __init__(self, directory: str | os.PathLike, *, quantized: bool = False, threads: int = 1):
        import onnxruntime as ort

        from .tokenizer import CodeTokenizer

        d = Path(directory)
        self.manifest = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        suffix = ".int8.onnx" if quantized else ".onnx"
        enc, dec = (self.manifest[k].replace(".onnx", suffix) for k in ("encoder", "decoder_step"))
        self.encoder = ort.InferenceSession(str(d / enc), opts, providers=["CPUExecutionProvider"])
        self.decoder = ort.InferenceSession(str(d / dec), opts, providers=["CPUExecutionProvider"])
        from tokenizers import Tokenizer

        self.tokenizer = CodeTokenizer(Tokenizer.from_file(str(d / self.manifest["tokenizer"])))
        self.n = self.manifest["num_layers"]
        self.names = _names(self.n)

    def source(self, prompt: str) -> tuple[list[int], list, list[int]]:
        """As ``decode.generate`` builds a source: the (slot-canonicalized) prompt's ids truncated to
        ``max_src_len - 1``, then <eos>; the slots to restore; the slot ids this source may not emit."""
        slots = []
        if self.manifest["slots"]:
            from .slots import canonicalize_request

            prompt, slots = canonicalize_request(prompt)
        ids = self.tokenizer.encode(prompt)[: self.manifest["max_src_len"] - 1] + [self.manifest["eos_id"]]
        banned = [i for i in self.manifest.get("slot_ids", []) if i not in ids]
        return ids, slots, banned

    def source_ids(self, prompt: str) -> list[int]:
        """The source ids of ``prompt`` (see :meth:`source`)."""
        return self.source(prompt)[0]

    def _text(self, ids: list[int], slots: list) -> str:
        from .slots import restore

        return restore(self.tokenizer.decode(ids), slots)

    def _start(self, src_ids: list[int], rows: int):
        src = np.array([src_ids] * rows, dtype=np.int64)  # (N, S)
        cross = self.encoder.run(None, {"src": src[:1]})
        feeds = {"src": src}
        for name, value in zip(self.names["cross"], cross):
            feeds[name] = np.repeat(value, rows, axis=0)  # (N, H, S, d_k)
        H, d_k = self.manifest["num_heads"], self.manifest["d_k"]
        past = {p: np.zeros((rows, H, 0, d_k), dtype=np.float32) for p in self.names["past"]}
        return feeds, past

    def _step(self, feeds, past, last: np.ndarray):
        outs = self.decoder.run(None, {**feeds, **past, "tokens": last.reshape(-1, 1).astype(np.int64)})
        scores, cross_w, present = outs[0], outs[1], outs[2:]
        return scores, cross_w, dict(zip(self.names["past"], present))

    def greedy(self, prompt: str, max_new_tokens: int | None = None) -> dict[str, Any]:
        """``{"ids": generated ids (<eos> excluded), "code": text, "cross": (steps, layers, H, S)}``."""
        m = self.manifest
        limit = min(max_new_tokens or m["decoding"]["max_new_tokens"], m["max_tgt_len"])
        src, slots, banned = self.source(prompt)
        feeds, past = self._start(src, 1)
        seq: list[int] = []
        crosses = []
        last = np.array([m["bos_id"]])
        for step in range(limit):
            scores, cross_w, past = self._step(feeds, past, last)
            crosses.append(cross_w[0])
            nxt = int(_process_scores(scores, [seq], step, m, banned).argmax(axis=-1)[0])
            if nxt == m["eos_id"]:
                break
            seq.append(nxt)
            last = np.array([nxt])
        return {"ids": seq, "code": self._text(seq, slots), "cross": np.stack(crosses)}

    def beam(self, prompt: str, beam_size: int | None = None, length_penalty: float | None = None,
             max_new_tokens: int | None = None) -> dict[str, Any]:
        """``decode.beam_search`` for one prompt: ``{"ids", "code"}``."""
        m = self.manifest
        K = beam_size or m["decoding"]["beam_size"]
        lp = m["decoding"]["length_penalty"] if length_penalty is None else length_penalty
        limit = min(max_new_tokens or m["decoding"]["max_new_tokens"], m["max_tgt_len"])
        eos, pad = m["eos_id"], m["pad_id"]
        src, slots, banned = self.source(prompt)
        feeds, past = self._start(src, K)
        seqs: list[list[int]] = [[] for _ in range(K)]
        scores = np.full(K, -np.inf, dtype=np.float32)
        scores[0] = 0.0
        lengths = np.zeros(K, dtype=np.float32)
        finished = np.zeros(K, dtype=bool)
        last = np.full(K, m["bos_id"])
        for step in range(limit):
            out, _, past = self._step(feeds, past, last)
            logp = _log_softmax(_process_scores(out, seqs, step, m, banned))  # (K, V)
            logp[finished] = -np.inf
            logp[finished, pad] = 0.0
            V = logp.shape[-1]
            cand = scores[:, None] + logp  # (K, V)
            cand_len = np.where(finished, lengths, step + 1).astype(np.float32)
            ranked = (cand / cand_len[:, None] ** lp).reshape(-1)
            best = _topk(ranked, K)
            rows, nxt = best // V, best % V
            scores = cand.reshape(-1)[best]
            seqs = [seqs[r] + [int(t)] for r, t in zip(rows, nxt)]
            lengths = cand_len[rows]
            finished = finished[rows] | (nxt == eos)
            past = {k: v[rows] for k, v in past.items()}
            last = nxt
            if finished.all():
                break
        final = scores / np.maximum(lengths, 1) ** lp
        seq = seqs[int(final.argmax())]
        seq = seq[: seq.index(eos)] if eos in seq else seq
        seq = [t for t in seq if t != pad]
        return {"ids": seq, "code": self._text(seq, slots)}


def torch_greedy_ids(model: Transformer, tokenizer, prompt: str) -> list[int]:
    """PyTorch's greedy ids for one prompt, source built as ``decode.generate`` builds it (slot
    canonicalization and the slot ban for a slots model), ``<eos>`` and padding cut: what the page's ids
    must equal. Used by the parity tests and the benchmarks."""
    from .decode import greedy_decode

    slots = _config_flag(model, "slots")
    if slots:
        from .slots import canonicalize_request

        prompt = canonicalize_request(prompt)[0]
    src = torch.tensor([tokenizer.encode(prompt)[: model.config.max_src_len - 1] + [tokenizer.eos_id]],
                       device=next(model.parameters()).device)
    ids = greedy_decode(model, src, max_new_tokens=_generate_defaults(model.config.max_tgt_len)["max_new_tokens"],
                        bos_id=tokenizer.bos_id, eos_id=tokenizer.eos_id,
                        slot_ids=tokenizer.slot_ids if slots else ())[0].tolist()
    ids = ids[: ids.index(tokenizer.eos_id)] if tokenizer.eos_id in ids else ids
    return [t for t in ids if t != tokenizer.pad_id]


def _topk(x: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first; ties go to the lower index (like torch.topk on CPU
    in practice)."""
    order = np.argsort(-x, kind="stable")
    return order[:k]


def quantize_int8(directory: str | os.PathLike) -> dict[str, int]:
    """Dynamic int8 quantization (onnxruntime's ``quantize_dynamic``) of both graphs, written beside them as
    ``*.int8.onnx`` (weights inline). Returns their sizes in bytes."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process is printed on the root logger
    d = Path(directory)
    manifest = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
    sizes = {}
    for key in ("encoder", "decoder_step"):
        src = d / manifest[key]
        dst = d / manifest[key].replace(".onnx", ".int8.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
        sizes[dst.name] = dst.stat().st_size
    return sizes
