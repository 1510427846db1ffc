"""The book's inline teaching code equals the library (issue 6).

A chapter may write a component inline to teach it (a six-line attention, the sinusoidal table...). Such code
cells are tagged ``teach-inline``. This test runs the tagged cells of every ``book/NN_*.ipynb`` in a fresh
namespace (the book's own, trusted source), then checks every function they define against the library through
``COMPARISONS`` (inline function name -> check). A function without a check fails the test: add one here.
The negative cases prove that each check catches a drifted version (a forgotten sqrt(d_k), a swapped sin/cos...).
"""

from __future__ import annotations

import ast
import functools
import json
import math
import re
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from codegen_lib.attention import MultiHeadAttention, attention
from codegen_lib.layers import DecoderLayer, EncoderLayer, PositionWiseFeedForward
from codegen_lib.positional import PositionalEncoding

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
NOTEBOOKS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
TAG = "teach-inline"
MUST_TEACH_INLINE = ("03_positional_encoding", "04_attention")  # chapters that must write a component inline


# ----------------------------------------------------------------------------------- reading the notebooks
def inline_sources(nb_path: Path) -> list[str]:
    """Sources of the code cells tagged ``teach-inline``, in notebook order."""
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c["cell_type"] == "code" and TAG in c.get("metadata", {}).get("tags", [])
    ]


def defined_functions(source: str) -> list[str]:
    """Names of the public top-level functions a cell defines (read with ast, nothing is run)."""
    return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def exec_inline(sources: list[str], label: str) -> dict[str, types.FunctionType]:
    """Run the cells in one fresh namespace; return the public functions they define."""
    filename = f"<{label} teach-inline>"
    namespace: dict = {"__name__": "teach_inline_" + re.sub(r"\W", "_", label)}
    for i, src in enumerate(sources):
        try:
            exec(compile(src, filename, "exec"), namespace)  # the book's own source, not generated code
        except Exception as err:  # pragma: no cover - reported as a test failure
            pytest.fail(f"{label}: teach-inline cell {i} does not run on its own ({err!r}); teach-inline cells "
                        "must be self-contained (import what they use) and only define functions")
    return {
        name: obj for name, obj in namespace.items()
        if isinstance(obj, types.FunctionType) and obj.__code__.co_filename == filename and not name.startswith("_")
    }


@functools.cache
def notebook_functions(nb_path: Path) -> dict[str, types.FunctionType]:
    return exec_inline(inline_sources(nb_path), nb_path.stem)


def _cases() -> list[tuple[Path, str]]:
    return [(nb, name) for nb in NOTEBOOKS for src in inline_sources(nb) for name in defined_functions(src)]


# ------------------------------------------------------------------------------------- the comparisons
def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _close(got, want: torch.Tensor, what: str, atol: float = 1e-6) -> None:
    assert torch.is_tensor(got), f"{what}: expected a tensor, got {type(got).__name__}"
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {tuple(got.shape)} != library {tuple(want.shape)}"
    diff = (got.detach().double() - want.detach().double()).abs().max().item() if want.numel() else 0.0
    assert diff <= atol, f"{what}: max |inline - library| = {diff:.3g} > {atol}"


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def check_positional_encoding(fn: Callable) -> None:
    """fn(max_seq_length, d_model) -> (L, D) table == PositionalEncoding(d_model, L).pe[0]."""
    for length, d_model in [(50, 16), (256, 128), (9, 2)]:
        _close(fn(length, d_model), PositionalEncoding(d_model, length).pe[0],
               f"positional_encoding({length}, {d_model})", atol=1e-4)  # float32 sin(pos * w) at pos ~ 255


def _attention_inputs():
    B, H, T, S, d_k = 2, 3, 5, 7, 8
    Q, K, V = _rand(B, H, T, d_k, seed=1), _rand(B, H, S, d_k, seed=2), _rand(B, H, S, d_k, seed=3)
    lengths = torch.tensor([S, 4])
    pad = (torch.arange(S)[None] < lengths[:, None])[:, None, None, :]  # (B, 1, 1, S); example 1 has 3 pads
    X = _rand(B, H, T, d_k, seed=4)
    keys = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)[:, None, None, :]
    causal = keys & torch.ones(T, T, dtype=torch.bool).tril()  # (B, 1, T, T); no row is fully masked
    return [("no mask", (Q, K, V), None), ("padding mask", (Q, K, V), pad),
            ("padding mask as 0/1 ints", (Q, K, V), pad.long()), ("causal + padding", (X, X, X), causal)]


def check_scaled_dot_product_attention(fn: Callable) -> None:
    """fn(Q, K, V, mask=None) -> output (or (output, weights)) == the library's teaching path."""
    mha = MultiHeadAttention(d_model=24, num_heads=3)
    for label, (Q, K, V), mask in _attention_inputs():
        result = fn(Q, K, V) if mask is None else fn(Q, K, V, mask)
        out, weights = result if isinstance(result, tuple) else (result, None)
        _close(out, mha.scaled_dot_product_attention(Q, K, V, mask), f"attention output ({label})")
        if weights is not None:
            _close(weights, attention(Q, K, V, mask)[1], f"attention weights ({label})")


def check_layer_norm(fn: Callable) -> None:
    """fn(x, gamma, beta, eps) == nn.LayerNorm with the same gain and shift."""
    ln = nn.LayerNorm(16)
    with torch.no_grad():
        ln.weight.copy_(1.0 + 0.3 * _rand(16, seed=5))
        ln.bias.copy_(0.3 * _rand(16, seed=6))
    x = 3.0 * _rand(2, 5, 16, seed=7) + 7.0
    with torch.no_grad():
        _close(fn(x, ln.weight, ln.bias, ln.eps), ln(x), "layer_norm", atol=1e-5)


def check_position_wise_ffn(fn: Callable) -> None:
    """fn(x, W1, b1, W2, b2) == PositionWiseFeedForward with those weights."""
    torch.manual_seed(0)
    ffn = PositionWiseFeedForward(16, 48)
    x = _rand(2, 7, 16, seed=8)
    with torch.no_grad():
        _close(fn(x, ffn.fc1.weight, ffn.fc1.bias, ffn.fc2.weight, ffn.fc2.bias), ffn(x), "position_wise_ffn")


SIZES = [(8, 16), (32, 64), (128, 1024)]  # (d_model, d_ff), the last is the seed preset's


def _check_count(what: str, got, want: int) -> None:
    assert got == want, f"{what}: inline formula gives {got}, the library module has {want} parameters"


def check_attention_params(fn: Callable) -> None:
    for d_model, _ in SIZES:
        _check_count(f"attention_params({d_model})", fn(d_model), _count(MultiHeadAttention(d_model, 4)))


def check_feed_forward_params(fn: Callable) -> None:
    for d_model, d_ff in SIZES:
        _check_count(f"feed_forward_params({d_model}, {d_ff})", fn(d_model, d_ff),
                     _count(PositionWiseFeedForward(d_model, d_ff)))


def check_layer_norm_params(fn: Callable) -> None:
    for d_model, _ in SIZES:
        _check_count(f"layer_norm_params({d_model})", fn(d_model), _count(nn.LayerNorm(d_model)))


def check_encoder_layer_params(fn: Callable) -> None:
    for d_model, d_ff in SIZES:
        _check_count(f"encoder_layer_params({d_model}, {d_ff})", fn(d_model, d_ff),
                     _count(EncoderLayer(d_model, 4, d_ff, 0.1)))


def check_decoder_layer_params(fn: Callable) -> None:
    for d_model, d_ff in SIZES:
        _check_count(f"decoder_layer_params({d_model}, {d_ff})", fn(d_model, d_ff),
                     _count(DecoderLayer(d_model, 4, d_ff, 0.1)))


COMPARISONS: dict[str, Callable[[Callable], None]] = {
    "positional_encoding": check_positional_encoding,  # chapter 03
    "scaled_dot_product_attention": check_scaled_dot_product_attention,  # chapter 04
    "layer_norm": check_layer_norm,  # chapter 05
    "position_wise_ffn": check_position_wise_ffn,  # chapter 05
    "attention_params": check_attention_params,  # chapter 06
    "feed_forward_params": check_feed_forward_params,
    "layer_norm_params": check_layer_norm_params,
    "encoder_layer_params": check_encoder_layer_params,
    "decoder_layer_params": check_decoder_layer_params,
}


# ------------------------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("stem", MUST_TEACH_INLINE)
def test_core_chapters_teach_inline(stem):
    nb = BOOK / f"{stem}.ipynb"
    assert nb.is_file(), f"{nb.name} is missing"
    sources = inline_sources(nb)
    assert sources, f"{nb.name} has no code cell tagged {TAG!r}"
    assert any(defined_functions(s) for s in sources), f"{nb.name}: its {TAG} cells define no function"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_teach_inline_cell_defines_a_function(nb):
    for i, src in enumerate(inline_sources(nb)):
        assert defined_functions(src), f"{nb.name}: {TAG} cell {i} defines no function, so nothing can be checked"


@pytest.mark.parametrize(("nb", "name"), _cases(), ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_inline_function_equals_library(nb, name):
    assert name in COMPARISONS, (
        f"{nb.name} defines {name!r} in a {TAG} cell but tests/test_book_inline.py has no comparison for it; "
        "add one to COMPARISONS"
    )
    functions = notebook_functions(nb)
    assert name in functions, f"{nb.name}: {name!r} was not defined when its {TAG} cells ran"
    COMPARISONS[name](functions[name])


# ------------------------------------------------------------------------- the checks catch drifted versions
def _sdpa_unscaled(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1)  # forgot / sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    w = torch.softmax(scores, dim=-1)
    return w @ V, w


def _sdpa_wrong_axis(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    w = torch.softmax(scores, dim=-2)  # normalizes over queries instead of keys
    return w @ V, w


def _sdpa_ignores_mask(Q, K, V, mask=None):
    w = torch.softmax(Q @ K.transpose(-2, -1) / math.sqrt(Q.size(-1)), dim=-1)
    return w @ V, w


def _sdpa_inverted_mask(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask != 0, -1e9)  # blocks what may be seen
    w = torch.softmax(scores, dim=-1)
    return w @ V, w


def _pe_swapped(max_seq_length, d_model):
    pos = torch.arange(max_seq_length, dtype=torch.float32)[:, None]
    omega = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2).float() / d_model)
    table = torch.zeros(max_seq_length, d_model)
    table[:, 0::2], table[:, 1::2] = torch.cos(pos * omega), torch.sin(pos * omega)  # cos on even: wrong
    return table


def _pe_wrong_exponent(max_seq_length, d_model):
    pos = torch.arange(max_seq_length, dtype=torch.float32)[:, None]
    omega = 10000.0 ** (-torch.arange(d_model // 2).float() / d_model)  # i/d instead of 2i/d
    table = torch.zeros(max_seq_length, d_model)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * omega), torch.cos(pos * omega)
    return table


def _ln_unbiased(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(x.var(-1, keepdim=True) + eps) + beta  # divides by D - 1


def _ln_no_gain(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) + beta


def _ffn_no_relu(x, W1, b1, W2, b2):
    return (x @ W1.T + b1) @ W2.T + b2


WRONG = [
    ("scaled_dot_product_attention", _sdpa_unscaled),
    ("scaled_dot_product_attention", _sdpa_wrong_axis),
    ("scaled_dot_product_attention", _sdpa_ignores_mask),
    ("scaled_dot_product_attention", _sdpa_inverted_mask),
    ("positional_encoding", _pe_swapped),
    ("positional_encoding", _pe_wrong_exponent),
    ("layer_norm", _ln_unbiased),
    ("layer_norm", _ln_no_gain),
    ("position_wise_ffn", _ffn_no_relu),
    ("attention_params", lambda d: 4 * d * d),  # forgot the biases
    ("feed_forward_params", lambda d, f: 2 * d * f + f),  # forgot fc2's bias
    ("layer_norm_params", lambda d: d),  # forgot the shift
    ("encoder_layer_params", lambda d, f: 4 * (d * d + d) + 2 * d * f + f + d),  # forgot the LayerNorms
    ("decoder_layer_params", lambda d, f: 4 * (d * d + d) + 2 * d * f + f + d + 6 * d),  # forgot cross-attention
]


@pytest.mark.parametrize(("name", "wrong"), [pytest.param(n, w, id=f"{n}-{i}") for i, (n, w) in enumerate(WRONG)])
def test_comparison_rejects_a_drifted_version(name, wrong):
    with pytest.raises(AssertionError):
        COMPARISONS[name](wrong)


def _pe_power_form(max_seq_length, d_model):
    pos = torch.arange(max_seq_length, dtype=torch.float32)[:, None]
    omega = 10000.0 ** (-torch.arange(0, d_model, 2).float() / d_model)  # the formula as written, via pow
    table = torch.zeros(max_seq_length, d_model)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * omega), torch.cos(pos * omega)
    return table


def _sdpa_fused(Q, K, V, mask=None):
    return torch.nn.functional.scaled_dot_product_attention(Q, K, V, attn_mask=None if mask is None else mask != 0)


@pytest.mark.parametrize(("name", "right"), [("positional_encoding", _pe_power_form),
                                             ("scaled_dot_product_attention", _sdpa_fused)])
def test_comparison_accepts_an_equivalent_version(name, right):
    """The tolerances leave room for float32 rounding of a different but correct implementation."""
    COMPARISONS[name](right)


def test_drifted_notebook_cell_is_caught():
    """Mutate chapter 04's real inline cell (drop the sqrt(d_k) scaling): the same check must now fail."""
    sources = inline_sources(BOOK / "04_attention.ipynb")
    scaling = re.compile(r"\s*/\s*(math\.sqrt\(d_k\)|d_k\s*\*\*\s*0?\.5)")
    drifted = [scaling.sub("", src) for src in sources]
    assert drifted != sources, "could not find the / sqrt(d_k) scaling in chapter 04's teach-inline cell"
    functions = exec_inline(drifted, "04_attention_drifted")
    with pytest.raises(AssertionError, match="max \\|inline - library\\|"):
        check_scaled_dot_product_attention(functions["scaled_dot_product_attention"])
