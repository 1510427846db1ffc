"""Tests for codegen_lib.tokenizer: fixed specials, lossless round trip, save/load, the HF wrapper."""

import json
import time
from pathlib import Path

import pytest

from codegen_lib.tokenizer import (
    REPORT_EXAMPLE,
    SPECIAL_TOKENS,
    CodeTokenizer,
    HFTokenizer,
    load_tokenizer,
    preprocess_steps,
    standardize,
    train_tokenizer,
)

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "def greet(name):\n    print('Hello, ' + name)\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n"
    "        self.items.append(x)\n",
    "for i in range(10):\n\tif i % 2 == 0:\n\t\tprint(i)\n",
    "Create a python function that adds two numbers.",
    "Write a function to reverse a string.",
] * 5

TRICKY = [
    "",
    " ",
    "    leading spaces",
    "\tdef f():\n\t\treturn 1\n",
    "trailing spaces   \nand tabs\t\t\n",
    "\n\n\nblank lines\n\n\n",
    "x = 1\r\ny = 2\r\n",
    "old mac\rline",
    "print(' ▁ ')  # the XLCoST space marker",
    "emoji 😀🐍 and accents éàü and 中文 and ∑∫",
    "zero\x00byte and \x7f and \x1b[0m",
    "<pad><bos><eos><unk> written literally",
    "a" * 500,
    "\u200b zero width \ufeff bom",
]


@pytest.fixture(scope="module")
def tok() -> CodeTokenizer:
    return train_tokenizer(CORPUS, vocab_size=400)


def test_fixed_special_ids(tok):
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    for name, i in SPECIAL_TOKENS.items():
        assert tok.id_to_token(i) == name
    assert 260 <= tok.vocab_size <= 400


@pytest.mark.parametrize("text", TRICKY)
def test_round_trip_tricky(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids, skip_special_tokens=False) == text  # no special id slipped in


def test_literal_special_text_is_not_a_special_token(tok):
    ids = tok.encode("<pad>")
    assert tok.pad_id not in ids and len(ids) > 1


def test_pickled_copy_behaves_the_same(tok):
    import pickle

    copy = pickle.loads(pickle.dumps(tok))  # what DataLoader worker processes receive
    for text in TRICKY:
        assert copy.encode(text) == tok.encode(text)
    assert copy.pad_id not in copy.encode("<pad>")


def test_decode_keeps_or_skips_specials(tok):
    ids = [tok.bos_id] + tok.encode("x = 1") + [tok.eos_id, tok.pad_id]
    assert tok.decode(ids) == "x = 1"
    assert tok.decode(ids, skip_special_tokens=False) == "<bos>x = 1<eos><pad>"
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([tok.vocab_size])


def test_training_compresses(tok):
    text = CORPUS[0]
    assert len(tok.encode(text)) < len(text.encode("utf-8")) / 2  # merges were learned


def test_tokens_are_the_text_pieces(tok):
    text = "def add(a, b):\n    return a + b\n"
    pieces = tok.tokens(text)
    assert len(pieces) == len(tok.encode(text))
    assert "".join(pieces) == text
    assert "return" in "".join(p.strip() for p in pieces)
    visible = tok.tokens("a b\tc\n", visible=True)
    assert "".join(visible) == "a·b→c↵\n"
    # a character never seen in training is split into bytes; its pieces show \x escapes, never crash
    assert "\\x" in "".join(tok.tokens("🐍"))


def test_training_is_deterministic():
    a = train_tokenizer(CORPUS, vocab_size=350)
    b = train_tokenizer(list(CORPUS), vocab_size=350)
    assert a.backend.to_str() == b.backend.to_str()
    c = train_tokenizer(CORPUS[:3], vocab_size=350)
    assert c.backend.to_str() != a.backend.to_str()


def test_training_rejects_bad_input():
    with pytest.raises(ValueError, match="vocab_size"):
        train_tokenizer(CORPUS, vocab_size=100)
    with pytest.raises(ValueError, match="no texts"):
        train_tokenizer([])
    with pytest.raises(TypeError, match="not a str"):
        train_tokenizer(["ok", 3])
    with pytest.raises(TypeError):
        CodeTokenizer.encode(train_tokenizer(CORPUS, vocab_size=300), b"bytes")


def test_save_load_identical(tok, tmp_path):
    tok.save(tmp_path / "tok")
    back = CodeTokenizer.load(tmp_path / "tok")
    assert back.vocab_size == tok.vocab_size
    for text in TRICKY + CORPUS[:6]:
        assert back.encode(text) == tok.encode(text)
        assert back.decode(back.encode(text)) == text
    assert back.encode("<pad>") == tok.encode("<pad>")  # literal specials still not special after load
    assert isinstance(load_tokenizer(tmp_path / "tok"), CodeTokenizer)


def test_load_errors_are_clear(tok, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        CodeTokenizer.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="codegen_tokenizer.json"):
        CodeTokenizer.load(tmp_path / "empty")

    d = tok.save(tmp_path / "corrupt")
    (d / "tokenizer.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a valid tokenizers file"):
        CodeTokenizer.load(d)

    d = tok.save(tmp_path / "badmeta")
    (d / "codegen_tokenizer.json").write_text("][", encoding="utf-8")
    with pytest.raises(ValueError, match="corrupt"):
        load_tokenizer(d)

    d = tok.save(tmp_path / "specials")
    meta = json.loads((d / "codegen_tokenizer.json").read_text())
    meta["special_tokens"] = {"<pad>": 3, "<bos>": 1, "<eos>": 2, "<unk>": 0}
    (d / "codegen_tokenizer.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="special tokens"):
        CodeTokenizer.load(d)

    # a tokenizer.json whose specials sit at other ids
    d = tok.save(tmp_path / "swapped")
    raw = json.loads((d / "tokenizer.json").read_text())
    for added in raw["added_tokens"]:
        if added["content"] in ("<pad>", "<unk>"):
            added["content"] = "<unk>" if added["content"] == "<pad>" else "<pad>"
    vocab = raw["model"]["vocab"]
    vocab["<pad>"], vocab["<unk>"] = vocab["<unk>"], vocab["<pad>"]
    (d / "tokenizer.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="special token ids"):
        CodeTokenizer.load(d)


def _xlcost_lines(xlcost_dir: Path, split: str, ext: str) -> list[str]:
    path = xlcost_dir / "pair_data_tok_full_desc" / "Python-desc" / f"{split}-Python-desc-tok.{ext}"
    return path.read_text(encoding="utf-8").splitlines()


def test_round_trip_real_xlcost_raw(xlcost_dir):
    """Every raw line of the real val/test files (code and titles) survives, with and without merges."""
    val_code = _xlcost_lines(xlcost_dir, "val", "py")
    test_code = _xlcost_lines(xlcost_dir, "test", "py")
    titles = _xlcost_lines(xlcost_dir, "test", "txt")
    assert len(test_code) == 887 and len(val_code) == 472
    trained = train_tokenizer(val_code, vocab_size=2000)
    for tk in (trained, train_tokenizer(["unrelated text"], vocab_size=260)):
        texts = test_code + val_code + titles
        decoded = [tk.decode(ids) for ids in tk.encode_batch(texts)]
        failures = [t for t, d in zip(texts, decoded, strict=True) if t != d]
        assert failures == []
        # the whole file as one string too: newlines between programs survive
        whole = "\n".join(test_code) + "\n"
        assert tk.decode(tk.encode(whole)) == whole
    # the trained vocabulary is far more compact on unseen test code than raw bytes
    n_tokens = sum(len(ids) for ids in trained.encode_batch(test_code))
    assert n_tokens < 0.5 * sum(len(t.encode("utf-8")) for t in test_code)


def test_round_trip_real_xlcost_detokenized(xlcost_dir):
    from codegen_lib.corpora import xlcost_tokens as xlcost

    codes = [xlcost.detokenize(line) for line in _xlcost_lines(xlcost_dir, "test", "py")]
    codes += [xlcost.detokenize(line) for line in _xlcost_lines(xlcost_dir, "val", "py")]
    tk = train_tokenizer(codes[887:], vocab_size=2000)  # trained on val only
    assert any("\n    " in c for c in codes)  # real indentation to preserve
    failures = [c for c, ids in zip(codes, tk.encode_batch(codes), strict=True) if tk.decode(ids) != c]
    assert failures == []


def test_round_trip_task_corpus():
    from codegen_lib.corpora import tasks

    corpus = tasks.build_task_corpus(seed=0, instances_per_family=10)
    splits = corpus.values() if hasattr(corpus, "values") else [corpus]
    texts = [t for split in splits for row in split for t in (row["prompt"], row["code"])]
    assert len(texts) > 100
    tk = train_tokenizer(texts[::7], vocab_size=1000)
    failures = [t for t, ids in zip(texts, tk.encode_batch(texts), strict=True) if tk.decode(ids) != t]
    assert failures == []


def test_standardize_keeps_code():
    code = "def F(x):\r\n    Return = x.upper()  # Keep CASE, punctuation!\r\n\r\n\tpass\r"
    out = standardize(code)
    assert out == "def F(x):\n    Return = x.upper()  # Keep CASE, punctuation!\n\n\tpass\n"
    assert standardize(out) == out  # idempotent
    assert standardize("é ▁ 😀  ") == "é ▁ 😀  "
    with pytest.raises(TypeError):
        standardize(None)


def test_preprocess_steps_on_report_example(tok):
    steps = preprocess_steps(REPORT_EXAMPLE, tok)
    assert steps["original"] == steps["standardized"] == "Create a python function."
    assert steps["ids"] == tok.encode(REPORT_EXAMPLE)
    assert len(steps["tokens"]) == len(steps["ids"])
    assert "".join(steps["tokens"]) == REPORT_EXAMPLE  # case and the final "." are kept
    assert steps["decoded"] == REPORT_EXAMPLE and steps["round_trip"] is True
    assert not set(steps["ids"]) & set(SPECIAL_TOKENS.values())


def test_preprocess_steps_with_report_pipeline(tok):
    steps = preprocess_steps(REPORT_EXAMPLE, tok, include_report=True)
    assert steps["report_words"] == ["create", "a", "python", "function"]  # the report's figure


# --------------------------------------------------------------------------------------------------
# HFTokenizer, tested on a local tokenizer saved like a hub one (no network)
# --------------------------------------------------------------------------------------------------
def _save_hf_tokenizer(directory: Path, specials=("<unk>", "<s>", "</s>"), **special_kw) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(CORPUS, trainer=trainer)
    PreTrainedTokenizerFast(tokenizer_object=raw, **special_kw).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="module")
def llama_like_dir(tmp_path_factory) -> Path:
    """Llama's special layout: <unk>=0, <s>=1, </s>=2 and no pad token."""
    d = tmp_path_factory.mktemp("llama_like")
    return _save_hf_tokenizer(d, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def test_hf_wrapper_on_local_tokenizer(llama_like_dir, tmp_path):
    hf = HFTokenizer(llama_like_dir)
    assert (hf.pad_id, hf.bos_id, hf.eos_id, hf.unk_id) == (0, 1, 2, 0)  # no pad: pad with <unk>
    assert hf.vocab_size == len(hf.backend)
    text = "def add(a, b):\n    return a + b\n"
    ids = hf.encode(text)
    assert hf.bos_id not in ids and hf.eos_id not in ids
    assert hf.decode([hf.bos_id] + ids + [hf.eos_id]) == text
    assert "".join(hf.tokens(text)) == text
    assert hf.encode_batch([text, "x"]) == [ids, hf.encode("x")]

    hf.save(tmp_path / "saved")
    back = load_tokenizer(tmp_path / "saved")
    assert isinstance(back, HFTokenizer)
    assert (back.pad_id, back.bos_id, back.eos_id) == (hf.pad_id, hf.bos_id, hf.eos_id)
    assert back.encode(text) == ids
    with pytest.raises(ValueError, match="not a CodeTokenizer"):
        CodeTokenizer.load(tmp_path / "saved")


def test_hf_wrapper_adds_pad_when_no_unk(tmp_path):
    d = _save_hf_tokenizer(tmp_path / "nounk", specials=("<s>", "</s>"), bos_token="<s>", eos_token="</s>")
    hf = HFTokenizer(d)
    assert hf.pad_id == hf.vocab_size - 1 and hf.backend.pad_token == "<pad>"
    assert len({hf.pad_id, hf.bos_id, hf.eos_id}) == 3


def test_hf_wrapper_bad_local_dirs(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        HFTokenizer(tmp_path / "nope" / "tok")
    d = tmp_path / "broken"
    d.mkdir()
    (d / "tokenizer.json").write_text("{ broken", encoding="utf-8")
    (d / "tokenizer_config.json").write_text('{"tokenizer_class": "TokenizersBackend"}', encoding="utf-8")
    with pytest.raises(ValueError, match="could not load"):
        HFTokenizer(d)


def test_hf_hub_unreachable_fails_fast():
    from codegen_lib import hub

    start = time.monotonic()
    with pytest.raises(hub.HubUnavailableError) as info:
        HFTokenizer("codellama/CodeLlama-7b-Python-hf")
    assert time.monotonic() - start < 15
    message = str(info.value)
    assert "CodeLlama" in message and "train_tokenizer" in message
