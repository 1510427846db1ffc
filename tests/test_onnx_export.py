"""The ONNX export behind the book's in-page Try it view (codegen_lib/onnx_export.py, chapter 08): checked
graphs, float16 weights stored once, and onnxruntime decoding that gives PyTorch's ids exactly."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from codegen_lib.config import ModelConfig  # noqa: E402
from codegen_lib.decode import beam_search, generate, greedy_decode  # noqa: E402
from codegen_lib.model import build_model  # noqa: E402
from codegen_lib.onnx_export import OnnxGenerator, export_onnx, quantize_int8  # noqa: E402
from codegen_lib.pretrained import SHIPPED_MODEL  # noqa: E402
from codegen_lib.slots import SLOT_TOKENS, canonicalize_request  # noqa: E402
from codegen_lib.tokenizer import train_tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "artifacts" / SHIPPED_MODEL  # whatever model the repository ships

PROMPTS = [
    "Write a function `add(a, b)` that returns a + b.",
    "Define is_odd(n) returning whether n is odd.",
    "Sort a list of numbers in descending order",
    "read a file 'data.txt' and print its lines",
    "x",
    "Return the maximum of three numbers a, b and c, or None if any of them is None.",
    "Implement `reverse_str` that reverses a string `s`.",
    "Count the vowels in the string 'hello world' and print 12.5 times the count.",
    "`people`,`people`,`people`,`people`",  # mostly slots: a copying model writes var_0 (people)
]


@pytest.fixture(scope="module", params=["plain", "copy+slots"])
def tiny(request, tmp_path_factory):
    """A tiny random model (float16-rounded weights, like every shipped checkpoint) and its export: the
    plain model, and one with the copy head and slot canonicalization (its tokenizer has the slot tokens)."""
    torch.manual_seed(0)
    copy = request.param == "copy+slots"
    texts = PROMPTS * 3 + ["def f(x):\n    return x + 1\n", "print(sorted(xs, reverse=True))\n"] * 5
    tok = train_tokenizer(texts, vocab_size=300, added_tokens=SLOT_TOKENS if copy else ())
    cfg = ModelConfig.preset("tiny", src_vocab_size=tok.vocab_size, tgt_vocab_size=tok.vocab_size,
                             norm_first=True, tie_embeddings=True, max_tgt_len=40, copy_head=copy,
                             slots=copy)
    model = build_model(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
        if copy:  # mostly copying (p_gen ~ 0.02), so outputs hold slot tokens and restore has work
            model.copy_gate.bias.fill_(-4.0)
    out = tmp_path_factory.mktemp("onnx")
    manifest = export_onnx(model, out, tokenizer=tok)
    return model, tok, out, manifest


def _torch_ids(model, tok, prompt, **kw):
    if model.config.slots:
        prompt = canonicalize_request(prompt)[0]
    src = torch.tensor([tok.encode(prompt)[: model.config.max_src_len - 1] + [tok.eos_id]])
    fn = beam_search if kw.pop("beam", False) else greedy_decode
    slot_ids = tok.slot_ids if model.config.slots else []
    ids = fn(model, src, max_new_tokens=model.config.max_tgt_len, bos_id=tok.bos_id, eos_id=tok.eos_id,
             slot_ids=slot_ids, **kw)[0].tolist()
    ids = ids[: ids.index(tok.eos_id)] if tok.eos_id in ids else ids
    return [t for t in ids if t != tok.pad_id]


def test_export_writes_checked_graphs_and_fp16_weights_once(tiny):
    import onnx

    model, tok, out, manifest = tiny
    for name in ("encoder.onnx", "decoder_step.onnx", "weights.bin", "tokenizer.json", "manifest.json"):
        assert (out / name).is_file(), name
    for name in ("encoder.onnx", "decoder_step.onnx"):
        onnx.checker.check_model(str(out / name))
    n_params = sum(p.numel() for p in model.parameters())  # tied weights counted once
    weights = (out / "weights.bin").stat().st_size
    assert weights <= 2 * n_params + 64 * 200, (weights, n_params)  # float16, each tensor at most once
    assert weights >= 2 * model.decoder_embedding.weight.numel()
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert manifest["num_layers"] == model.config.num_layers and manifest["vocab_size"] == tok.vocab_size
    graph = onnx.load(str(out / "decoder_step.onnx"), load_external_data=False)
    ins = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.graph.input}
    assert ins["past_k_0"][2] == "past_len" and ins["src"][1] == "src_len"  # dynamic lengths


def test_onnx_greedy_gives_pytorch_ids_and_text(tiny):
    model, tok, out, manifest = tiny
    gen = OnnxGenerator(out)
    texts = generate(model, tok, PROMPTS, max_new_tokens=model.config.max_tgt_len)
    for prompt, text in zip(PROMPTS, texts):
        res = gen.greedy(prompt)
        assert res["ids"] == _torch_ids(model, tok, prompt), prompt
        assert res["code"] == text, prompt
    if model.config.slots:  # the slot model's manifest tells the page which ids are slots
        assert manifest["slots"] and manifest["copy_head"] and manifest["slot_ids"] == tok.slot_ids
        assert len(manifest["slot_ids"]) == len(SLOT_TOKENS)
        restored = [t for p, t in zip(PROMPTS, texts) if any(s.value in t for s in canonicalize_request(p)[1])]
        assert restored, "no output holds a restored slot value: the slot path went untested"


def test_onnx_beam_gives_pytorch_ids(tiny):
    model, tok, out, _ = tiny
    gen = OnnxGenerator(out)
    for prompt in PROMPTS[:4]:
        assert gen.beam(prompt)["ids"] == _torch_ids(model, tok, prompt, beam=True, beam_size=4), prompt


def test_step_cross_attention_equals_the_model_s(tiny):
    """The step's cross_attention output is the decoder's cross-attention, row by row."""
    model, tok, out, _ = tiny
    gen = OnnxGenerator(out)
    res = gen.greedy(PROMPTS[0])
    src = torch.tensor([gen.source_ids(PROMPTS[0])])
    tgt = torch.tensor([([tok.bos_id] + res["ids"])[: model.config.max_tgt_len]])  # the step inputs
    with torch.no_grad():
        _, att = model(src, tgt, return_attention=True)
    want = torch.stack([w[0, :, :, :] for w in att["cross"]], dim=0)  # (layers, H, T, S)
    got = res["cross"][: tgt.size(1)]  # (steps, layers, H, S)
    np.testing.assert_allclose(got, want.permute(2, 0, 1, 3).numpy(), atol=1e-5)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)


def test_int8_quantization_runs(tiny):
    _, _, out, _ = tiny
    sizes = quantize_int8(out)
    assert set(sizes) == {"encoder.int8.onnx", "decoder_step.int8.onnx"} and min(sizes.values()) > 0
    res = OnnxGenerator(out, quantized=True).greedy(PROMPTS[1])
    assert isinstance(res["code"], str) and len(res["ids"]) <= 40


@pytest.mark.slow
@pytest.mark.skipif(not (SHIPPED / "config.json").is_file(), reason="the shipped model is not in artifacts/")
def test_shipped_model_greedy_parity_and_size(tmp_path):
    """The served export of the shipped model: at most 16 MB, and greedy ids identical to generate()."""
    from codegen_lib.train import load_checkpoint

    model, tok, _ = load_checkpoint(SHIPPED)
    manifest = export_onnx(SHIPPED, tmp_path)
    assert sum(manifest["files_bytes"].values()) <= 16_000_000, manifest["files_bytes"]
    gen = OnnxGenerator(tmp_path)
    texts = generate(model, tok, PROMPTS)
    for prompt, text in zip(PROMPTS, texts):
        res = gen.greedy(prompt)
        assert res["ids"] == _torch_ids(model, tok, prompt), prompt
        assert res["code"] == text, prompt


def test_cli_export_onnx_bad_checkpoint_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "codegen_lib", "export-onnx", str(tmp_path / "nope"),
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1
