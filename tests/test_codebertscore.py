"""CodeBERTScore offline: the whole scoring path of ``metrics.codebertscore`` and chapter 09's XLCoST score
(``suite.xlcost_codebertscore``) on a tiny BERT built here from a ``BertConfig`` (random weights, a WordPiece
tokenizer trained on a few lines of code). tests/test_metrics.py does the same with a tiny RoBERTa and checks the
greedy matching by hand; these check the properties any CodeBERTScore must have, with the other model family the
package supports, and the hub route's error."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset

from codegen_lib import metrics

CODE = [
    "def add(a, b):\n    return a + b",
    "for i in range(10):\n    print(i * i)",
    "values = [1, 2, 3]\ntotal = sum(values)\nprint(total)",
    "while n > 0:\n    n = n // 2",
]
NEAR = "def add(a, b):\n    return a - b"  # CODE[0] with one token changed


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    """A 2-layer BERT (hidden size 32) with random weights and a WordPiece tokenizer, saved like a hub model."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("tiny_bert")
    wordpiece = BertWordPieceTokenizer(lowercase=False)
    wordpiece.train_from_iterator(CODE * 10, vocab_size=200, min_frequency=1,
                                  special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok = BertTokenizerFast(tokenizer_object=wordpiece._tokenizer, unk_token="[UNK]", cls_token="[CLS]",
                            sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]", model_max_length=128)
    assert "[UNK]" not in tok.convert_ids_to_tokens(tok.encode(CODE[0]))  # the vocabulary covers the code
    tok.save_pretrained(str(d))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg).eval().save_pretrained(str(d))
    return str(d)


def test_identical_programs_score_one(tiny_bert):
    out = metrics.codebertscore(CODE, CODE, model_type=tiny_bert)
    for key in ("precision", "recall", "f1", "f3"):
        assert out[key] == pytest.approx(1.0, abs=1e-5), key
    assert out["model"] == tiny_bert and out["num_layers"] == 2  # a local model: its last layer


def test_a_different_program_scores_lower_and_a_closer_one_higher(tiny_bert):
    near = metrics.codebertscore([NEAR], [CODE[0]], model_type=tiny_bert)["f1"]
    far = metrics.codebertscore([CODE[3]], [CODE[0]], model_type=tiny_bert)["f1"]
    assert 0.0 < far < near < 1.0


def test_swapping_prediction_and_reference_swaps_precision_and_recall(tiny_bert):
    ab = metrics.codebertscore([CODE[2]], [CODE[1]], model_type=tiny_bert)
    ba = metrics.codebertscore([CODE[1]], [CODE[2]], model_type=tiny_bert)
    assert ab["precision"] == pytest.approx(ba["recall"], abs=1e-6)
    assert ab["recall"] == pytest.approx(ba["precision"], abs=1e-6)
    assert ab["f1"] == pytest.approx(ba["f1"], abs=1e-6)
    p, r = ab["precision"], ab["recall"]
    assert ab["f1"] == pytest.approx(2 * p * r / (p + r), abs=1e-6)
    assert ab["f3"] == pytest.approx(10 * p * r / (9 * p + r), abs=1e-6)


def test_scores_are_means_over_pairs_in_any_order(tiny_bert):
    hyps, refs = [NEAR, CODE[3], CODE[1]], [CODE[0], CODE[0], CODE[1]]
    together = metrics.codebertscore(hyps, refs, model_type=tiny_bert)
    alone = [metrics.codebertscore([h], [r], model_type=tiny_bert)["f1"] for h, r in zip(hyps, refs)]
    assert together["f1"] == pytest.approx(sum(alone) / 3, abs=1e-5)
    reordered = metrics.codebertscore(hyps[::-1], refs[::-1], model_type=tiny_bert)
    assert reordered["f1"] == pytest.approx(together["f1"], abs=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# Chapter 09: the XLCoST predictions of a model, scored as the report scores them
# ----------------------------------------------------------------------------------------------------------------
class _Model:
    def eval(self):
        return self


@pytest.fixture
def xlcost_rows() -> Dataset:
    return Dataset.from_dict({"prompt": ["add two numbers", "print squares", "sum a list", "halve n"],
                              "code": CODE})


def test_xlcost_codebertscore_scores_the_suites_beam_predictions(tiny_bert, xlcost_rows, monkeypatch):
    from codegen_lib.suite import SETS, xlcost_codebertscore

    answers = {"add two numbers": NEAR, "print squares": CODE[1], "sum a list": CODE[3]}
    calls = []

    def fake_generate(model, tokenizer, prompts, **kw):
        calls.append(kw)
        return [answers[p] for p in prompts]

    monkeypatch.setattr("codegen_lib.decode.generate", fake_generate)
    out = xlcost_codebertscore(_Model(), None, xlcost_rows, limit=3, codebert_model=tiny_bert)
    assert out["programs"] == 3
    assert calls and all(kw["strategy"] == "beam" and kw["beam_size"] == 4 for kw in calls)
    assert out["decoding"]["max_new_tokens"] == SETS["xlcost_test"][2]
    direct = metrics.codebertscore([NEAR, CODE[1], CODE[3]], CODE[:3], model_type=tiny_bert)
    for key in ("precision", "recall", "f1", "f3"):
        assert out[key] == pytest.approx(direct[key], abs=1e-6), key
    assert 0.0 < out["f1"] < 1.0  # one exact, two not


def test_xlcost_codebertscore_offline_fails_before_decoding(xlcost_rows, monkeypatch):
    from codegen_lib.hub import HubUnavailableError
    from codegen_lib.suite import xlcost_codebertscore

    def must_not_run(*args, **kw):
        raise AssertionError("decoded although the scoring model cannot be loaded")

    monkeypatch.setattr("codegen_lib.decode.generate", must_not_run)
    # conftest sets HF_HUB_OFFLINE=1: the hub's neulab/codebert-python is out of reach
    with pytest.raises(HubUnavailableError) as info:
        xlcost_codebertscore(_Model(), None, xlcost_rows)
    msg = str(info.value)
    assert "neulab/codebert-python" in msg and "codebert_model=<local directory" in msg
