"""Greedy, beam search, sampling, no-repeat-n-gram and the KV cache (chapter 08)."""

import itertools
import warnings

import pytest
import torch
import torch.nn.functional as F

from codegen_lib.config import ModelConfig
from codegen_lib.decode import (
    _filter_top_k_top_p,
    banned_ngram_tokens,
    beam_search,
    generate,
    greedy_decode,
    sample,
)
from codegen_lib.model import build_model

PAD, BOS, EOS, UNK = 0, 1, 2, 3


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread is faster, and far faster when other processes share the CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class CharTokenizer:
    """A stand-in with the DESIGN.md tokenizer interface: one id per known character, <unk> otherwise."""

    pad_id, bos_id, eos_id, unk_id = PAD, BOS, EOS, UNK
    alphabet = "abcdefghijklmnopqrstuvwxyz ():=+_,.0123456789\n"
    vocab_size = 4 + len(alphabet)  # 50

    def encode(self, text):
        return [4 + self.alphabet.index(c) if c in self.alphabet else UNK for c in text]

    def decode(self, ids, skip_special_tokens=True):
        return "".join(self.alphabet[i - 4] if i >= 4 else ("" if skip_special_tokens else f"<{i}>") for i in ids)


def seeded_model(eos_bias=0.3, vocab=50, **overrides):
    """A random tiny model; a small bias on <eos> makes some outputs end early."""
    torch.manual_seed(123)
    cfg = ModelConfig.preset("tiny", src_vocab_size=vocab, tgt_vocab_size=vocab, **overrides)
    model = build_model(cfg).eval()
    with torch.no_grad():
        model.fc.bias[EOS] += eos_bias
    return model


SRC = torch.tensor([[5, 9, 14, 20, 33, 2], [7, 7, 40, 2, 0, 0]])


def reference_greedy(model, src, max_new_tokens):
    """Greedy decoding the slow, obvious way: the full forward pass on the whole prefix, one row at a time."""
    rows = []
    for s in src:
        s = s[s != PAD].unsqueeze(0)
        tgt = torch.tensor([[BOS]])
        for _ in range(max_new_tokens):
            logits = model(s, tgt)[0, -1]
            logits[[PAD, BOS]] = float("-inf")
            tgt = torch.cat([tgt, logits.argmax().view(1, 1)], dim=1)
            if tgt[0, -1] == EOS:
                break
        rows.append(tgt[0, 1:].tolist())
    return rows


def strip(ids):
    return [[t for t in row if t != PAD] for row in ids.tolist()]


def test_greedy_exact_ids_and_matches_full_forward():
    model = seeded_model()
    out = greedy_decode(model, SRC, max_new_tokens=12)
    assert out.tolist() == [[45, 46, 2], [45, 46, 2]]
    assert strip(out) == reference_greedy(model, SRC, 12)
    # without the <eos> bias nothing stops early: every row runs to max_new_tokens
    model = seeded_model(eos_bias=0.0)
    out = greedy_decode(model, SRC, max_new_tokens=12)
    assert out.tolist() == [[45, 46, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
                            [45, 46, 34, 46, 28, 6, 46, 9, 30, 10, 10, 10]]
    assert strip(out) == reference_greedy(model, SRC, 12)


def test_beam_exact_ids():
    model = seeded_model()
    out = beam_search(model, SRC, beam_size=3, max_new_tokens=12)
    assert out.tolist() == [[45, 46, 28, 6, 10, 10, 10, 10, 10, 10, 10, 10],
                            [9, 34, 46, 10, 10, 10, 10, 10, 10, 10, 10, 10]]


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("eos_bias", [0.0, 0.3, 0.6])
def test_kv_cache_gives_exactly_the_same_tokens(norm_first, eos_bias):
    model = seeded_model(eos_bias, norm_first=norm_first)
    for kwargs in ({}, {"no_repeat_ngram_size": 2}):
        assert torch.equal(greedy_decode(model, SRC, max_new_tokens=20, **kwargs),
                           greedy_decode(model, SRC, max_new_tokens=20, use_cache=False, **kwargs))
    for beam_size, lp in ((2, 1.0), (4, 0.0), (5, 0.6)):
        assert torch.equal(
            beam_search(model, SRC, beam_size=beam_size, length_penalty=lp, max_new_tokens=20),
            beam_search(model, SRC, beam_size=beam_size, length_penalty=lp, max_new_tokens=20, use_cache=False),
        )
    draws = [sample(model, SRC, max_new_tokens=20, temperature=1.5, generator=torch.Generator().manual_seed(7),
                    use_cache=c) for c in (True, False)]
    assert torch.equal(*draws)


def test_beam_size_one_is_greedy():
    model = seeded_model(eos_bias=0.0)
    assert torch.equal(beam_search(model, SRC, beam_size=1, max_new_tokens=15),
                       greedy_decode(model, SRC, max_new_tokens=15))


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_finds_the_exhaustive_best(length_penalty):
    """With a beam wider than the number of hypotheses, beam search is exhaustive search."""
    model = seeded_model(eos_bias=1.0, vocab=8)
    src = torch.tensor([[4, 5, 6, 7, 2]])
    n = 3
    allowed = [t for t in range(8) if t not in (PAD, BOS)]

    def score(seq):
        tgt = torch.tensor([[BOS] + seq[:-1]])
        logits = model(src, tgt)[0]  # (L, V)
        logits[:, [PAD, BOS]] = float("-inf")
        logp = F.log_softmax(logits, dim=-1)[torch.arange(len(seq)), seq].sum().item()
        return logp / len(seq) ** length_penalty

    hypotheses = [list(p) + [EOS] for k in range(n) for p in itertools.product(
        [t for t in allowed if t != EOS], repeat=k)]  # end with <eos> after k tokens
    hypotheses += [list(p) for p in itertools.product([t for t in allowed if t != EOS], repeat=n)]  # cut at n
    best = max(hypotheses, key=score)
    found = beam_search(model, src, beam_size=len(allowed) ** n, length_penalty=length_penalty,
                        max_new_tokens=n)
    assert strip(found)[0] == best
    narrow = beam_search(model, src, beam_size=2, length_penalty=length_penalty, max_new_tokens=n)
    assert score(strip(narrow)[0]) <= score(best) + 1e-6


def test_stops_at_eos_and_at_max_length():
    model = seeded_model(eos_bias=20.0)
    for out in (greedy_decode(model, SRC, max_new_tokens=9), beam_search(model, SRC, max_new_tokens=9),
                sample(model, SRC, max_new_tokens=9)):
        assert out.tolist() == [[EOS], [EOS]]
    # min_new_tokens suppresses <eos>: the output is forced to full length
    out = greedy_decode(model, SRC, max_new_tokens=9, min_new_tokens=9)
    assert out.shape == (2, 9) and not (out == EOS).any()
    out = greedy_decode(model, SRC, max_new_tokens=9, min_new_tokens=4)
    assert out[:, 4].tolist() == [EOS, EOS] and out.shape == (2, 5)


def test_pad_and_bos_are_never_generated():
    model = seeded_model(eos_bias=0.0)
    with torch.no_grad():
        model.fc.bias[PAD] += 50.0
        model.fc.bias[BOS] += 40.0
    for out in (greedy_decode(model, SRC, max_new_tokens=8), beam_search(model, SRC, max_new_tokens=8)):
        assert out.shape == (2, 8) and not ((out == PAD) | (out == BOS)).any()


def test_no_repeat_ngram():
    assert banned_ngram_tokens([5, 6, 7, 5, 6], 3) == [7]
    assert banned_ngram_tokens([5, 6, 5], 2) == [6]
    assert sorted(banned_ngram_tokens([4, 9, 4], 1)) == [4, 4, 9]
    assert banned_ngram_tokens([5], 3) == []
    model = seeded_model(eos_bias=0.0)
    plain = greedy_decode(model, SRC, max_new_tokens=20)
    assert plain[0].tolist().count(10) > 5  # the random model repeats itself, like the report's model
    for size in (1, 2, 3):
        for out in (greedy_decode(model, SRC, max_new_tokens=20, no_repeat_ngram_size=size),
                    beam_search(model, SRC, max_new_tokens=20, no_repeat_ngram_size=size)):
            for row in strip(out):
                grams = [tuple(row[i : i + size]) for i in range(len(row) - size + 1)]
                assert len(grams) == len(set(grams)), (size, row)


def test_top_k_top_p_filters():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    assert torch.isinf(_filter_top_k_top_p(logits, 2, 1.0)).tolist() == [[True, False, False, True]]
    probs = logits.softmax(-1)[0]  # 0.087, 0.644, 0.237, 0.032
    assert probs[1] < 0.7 < probs[1] + probs[2]
    kept = ~torch.isinf(_filter_top_k_top_p(logits, 0, 0.7))
    assert kept.tolist() == [[False, True, True, False]]
    kept = ~torch.isinf(_filter_top_k_top_p(logits, 0, 0.5))
    assert kept.tolist() == [[False, True, False, False]]


def test_sampling_limits_and_reproducibility():
    model = seeded_model(eos_bias=0.0)
    greedy = greedy_decode(model, SRC, max_new_tokens=10)
    assert torch.equal(sample(model, SRC, max_new_tokens=10, top_k=1), greedy)
    assert torch.equal(sample(model, SRC, max_new_tokens=10, top_p=1e-6), greedy)
    assert torch.equal(sample(model, SRC, max_new_tokens=10, temperature=1e-4), greedy)
    a, b, c = (sample(model, SRC, max_new_tokens=10, temperature=2.0, generator=torch.Generator().manual_seed(s))
               for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    topk = sample(model, SRC, max_new_tokens=10, temperature=5.0, top_k=3, generator=torch.Generator().manual_seed(0))
    for row, src_row in zip(topk, SRC):  # every drawn token was among the 3 best at its step
        tgt = torch.cat([torch.tensor([BOS]), row])[None]
        logits = model(src_row[None], tgt[:, :-1])[0]
        logits[:, [PAD, BOS]] = float("-inf")
        top3 = logits.topk(3, dim=-1).indices
        assert all(tok in top3[i] for i, tok in enumerate(row.tolist()))


def test_bad_arguments_raise_clear_errors():
    model = seeded_model()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sample(model, SRC, temperature=0)
    with pytest.raises(ValueError, match="top_p"):
        sample(model, SRC, top_p=1.5)
    with pytest.raises(ValueError, match="top_k"):
        sample(model, SRC, top_k=-1)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(model, SRC, beam_size=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        greedy_decode(model, SRC, max_new_tokens=0)
    with pytest.raises(ValueError, match="non-empty"):
        greedy_decode(model, torch.zeros(1, 0, dtype=torch.long))
    with pytest.warns(UserWarning, match="exceeds the model's target limit 96"):
        out = greedy_decode(seeded_model(eos_bias=0.0), SRC[:1], max_new_tokens=500)
    assert out.shape == (1, 96)


# ---------------------------------------------------------------- generate(): text in, text out


def test_generate_text_matches_tensor_decoding():
    model, tok = seeded_model(), CharTokenizer()
    prompts = ["write a function that adds two numbers", "sort a list"]
    texts = generate(model, tok, prompts, max_new_tokens=12)
    assert isinstance(texts, list) and len(texts) == 2 and all(isinstance(t, str) for t in texts)
    src = torch.zeros(2, 39, dtype=torch.long)
    for i, p in enumerate(prompts):
        ids = tok.encode(p) + [EOS]
        src[i, : len(ids)] = torch.tensor(ids)
    expected = [tok.decode([t for t in row if t not in (PAD, EOS)]) for row in greedy_decode(model, src,
                                                                                             max_new_tokens=12).tolist()]
    assert texts == expected
    assert generate(model, tok, prompts[1], max_new_tokens=12) == texts[1:]
    for strategy in ("beam", "sample"):
        cached = generate(model, tok, prompts, strategy=strategy, max_new_tokens=12, seed=3)
        assert cached == generate(model, tok, prompts, strategy=strategy, max_new_tokens=12, seed=3, use_cache=False)
    # batching does not change results
    assert generate(model, tok, prompts, max_new_tokens=12, batch_size=1) == texts


def test_generate_source_encoding_matches_training():
    from codegen_lib import batching
    from codegen_lib.decode import _encode_prompts

    tok = CharTokenizer()
    prompt = "x" * 80
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _encode_prompts(tok, [prompt], 64) == [batching.encode_source(tok, prompt, 64)]
    assert _encode_prompts(tok, ["abc"], 64) == [batching.encode_source(tok, "abc", 64)]


def test_generate_bad_input():
    model, tok = seeded_model(), CharTokenizer()
    for bad in ("", "   \n", ["ok prompt", ""]):
        with pytest.raises(ValueError, match="empty"):
            generate(model, tok, bad)
    with pytest.raises(ValueError, match="prompts is empty"):
        generate(model, tok, [])
    with pytest.raises(TypeError, match="must be a str"):
        generate(model, tok, [42])
    with pytest.raises(ValueError, match="unknown strategy 'topk'"):
        generate(model, tok, "x", strategy="topk")


def test_generate_truncates_long_prompts_with_a_warning():
    model, tok = seeded_model(), CharTokenizer()  # tiny: max_src_len 64 -> 63 prompt tokens + <eos>
    long_prompt = "a" * 63 + "b" * 37
    with pytest.warns(UserWarning, match="has 100 tokens .* truncated by 37 tokens"):
        text = generate(model, tok, long_prompt, max_new_tokens=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cut prompt fits: no warning
        assert text == generate(model, tok, "a" * 63, max_new_tokens=8)


def test_generate_unknown_characters_do_not_crash():
    model, tok = seeded_model(), CharTokenizer()
    out = generate(model, tok, ["déf ƒ(x) → ✓ 🐍", "\x00\t"], max_new_tokens=6)
    assert len(out) == 2 and all(isinstance(t, str) for t in out)


def test_generate_restores_training_mode_and_is_reproducible():
    model, tok = seeded_model(eos_bias=0.0), CharTokenizer()
    model.train()
    a = generate(model, tok, "print hello", strategy="sample", temperature=2.0, max_new_tokens=16, seed=11)
    assert model.training
    assert a == generate(model, tok, "print hello", strategy="sample", temperature=2.0, max_new_tokens=16, seed=11)
    assert a != generate(model, tok, "print hello", strategy="sample", temperature=2.0, max_new_tokens=16, seed=12)
    # eval mode inside: dropout off, so greedy is deterministic even though the model was in train mode
    assert generate(model, tok, "print hello", max_new_tokens=16) == generate(model, tok, "print hello",
                                                                               max_new_tokens=16)
