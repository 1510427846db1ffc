"""Tests for codegen_lib.batching: collate, teacher-forcing shift, truncation counts, length buckets."""

import random

import pytest
import torch
from torch.utils.data import DataLoader

from codegen_lib.batching import (
    LengthBucketSampler,
    Seq2SeqCollator,
    encode_rows,
    encode_source,
    example_lengths,
    padding_fraction,
    padding_report,
    xlcost_padding_report,
)
from codegen_lib.tokenizer import train_tokenizer

ROWS = [
    {"prompt": "Add two numbers.", "code": "def add(a, b):\n    return a + b\n"},
    {"prompt": "Say hi.", "code": "print('hi')"},
    {"prompt": "Write a function that returns the maximum of a list of numbers.", "code": "max"},
    {"prompt": "Loop.", "code": "for i in range(3):\n\tprint(i)\n" * 3},
]


@pytest.fixture(scope="module")
def tok():
    texts = [r["prompt"] for r in ROWS] + [r["code"] for r in ROWS]
    return train_tokenizer(texts * 3, vocab_size=300)


def _unpadded(row: torch.Tensor, pad_id: int) -> list[int]:
    n = int((row != pad_id).sum())
    assert (row[n:] == pad_id).all(), "padding must sit at the end"
    return row[:n].tolist()


def test_collator_shapes_shift_and_padding(tok):
    collate = Seq2SeqCollator(tok, max_src_len=64, max_tgt_len=128)
    batch = collate(ROWS)
    src, tgt_in, tgt_out = batch["src"], batch["tgt_in"], batch["tgt_out"]
    assert src.dtype == tgt_in.dtype == tgt_out.dtype == torch.long
    assert tgt_in.shape == tgt_out.shape and src.shape[0] == tgt_in.shape[0] == len(ROWS)
    src_lens = [len(tok.encode(r["prompt"])) + 1 for r in ROWS]
    tgt_lens = [len(tok.encode(r["code"])) + 1 for r in ROWS]
    assert src.shape[1] == max(src_lens) and tgt_in.shape[1] == max(tgt_lens)  # padded to the batch max
    for i, row in enumerate(ROWS):
        code_ids = tok.encode(row["code"])
        s = _unpadded(src[i], tok.pad_id)
        t_in = _unpadded(tgt_in[i], tok.pad_id)
        t_out = _unpadded(tgt_out[i], tok.pad_id)
        assert s == tok.encode(row["prompt"]) + [tok.eos_id]
        assert t_in == [tok.bos_id] + code_ids and t_out == code_ids + [tok.eos_id]
        assert t_in[1:] == t_out[:-1]  # the teacher-forcing shift
        assert len(s) == src_lens[i] and len(t_in) == tgt_lens[i]
        assert tok.decode(t_out) == row["code"]
    assert collate.truncated_src == collate.truncated_tgt == 0 and collate.rows_seen == len(ROWS)


def test_pretokenized_rows_give_the_same_batch(tok):
    collate = Seq2SeqCollator(tok, max_src_len=8, max_tgt_len=10)
    encoded = encode_rows(ROWS, tok)
    assert encoded[0] == {"src_ids": tok.encode(ROWS[0]["prompt"]), "tgt_ids": tok.encode(ROWS[0]["code"])}
    a, b = collate(ROWS), collate(encoded)
    for key in a:
        assert torch.equal(a[key], b[key])


def test_truncation_keeps_specials_and_is_counted(tok):
    max_src, max_tgt = 4, 6
    collate = Seq2SeqCollator(tok, max_src_len=max_src, max_tgt_len=max_tgt)
    batch = collate(ROWS)
    assert batch["src"].shape[1] <= max_src and batch["tgt_in"].shape[1] <= max_tgt
    expected_src = sum(len(tok.encode(r["prompt"])) > max_src - 1 for r in ROWS)
    expected_tgt = sum(len(tok.encode(r["code"])) > max_tgt - 1 for r in ROWS)
    assert 0 < expected_tgt < len(ROWS) and expected_src > 0
    assert (collate.truncated_src, collate.truncated_tgt) == (expected_src, expected_tgt)
    for i in range(len(ROWS)):
        t_in = _unpadded(batch["tgt_in"][i], tok.pad_id)
        t_out = _unpadded(batch["tgt_out"][i], tok.pad_id)
        assert t_in[0] == tok.bos_id and t_out[-1] == tok.eos_id and t_in[1:] == t_out[:-1]
        assert _unpadded(batch["src"][i], tok.pad_id)[-1] == tok.eos_id
        assert batch["src"][i].tolist()[
            : len(encode_source(tok, ROWS[i]["prompt"], max_src))
        ] == encode_source(tok, ROWS[i]["prompt"], max_src)
    collate(ROWS)  # counts accumulate across calls
    report = collate.truncation_report()
    assert report["rows"] == 2 * len(ROWS) and report["truncated_tgt"] == 2 * expected_tgt
    assert report["truncated_tgt_fraction"] == pytest.approx(expected_tgt / len(ROWS))
    collate.reset_counts()
    assert collate.truncation_report()["truncated_src"] == 0


def test_empty_prompt_and_code_still_give_nonempty_rows(tok):
    batch = Seq2SeqCollator(tok, 8, 8)([{"prompt": "", "code": ""}])
    assert batch["src"].tolist() == [[tok.eos_id]]
    assert batch["tgt_in"].tolist() == [[tok.bos_id]] and batch["tgt_out"].tolist() == [[tok.eos_id]]


def test_collator_rejects_bad_input(tok):
    with pytest.raises(ValueError, match="max_src_len"):
        Seq2SeqCollator(tok, 0, 8)
    with pytest.raises(ValueError, match="max_tgt_len"):
        Seq2SeqCollator(tok, 8, 2.5)
    collate = Seq2SeqCollator(tok, 8, 8)
    with pytest.raises(ValueError, match="empty batch"):
        collate([])
    with pytest.raises(ValueError, match="'prompt' and 'code'"):
        collate([{"text": "x"}])
    with pytest.raises(ValueError, match="row 1 has no 'code'"):
        encode_rows([ROWS[0], {"prompt": "p"}], tok)
    with pytest.raises(ValueError, match="must be a str"):
        encode_rows([{"prompt": "p", "code": None}], tok)


def test_padding_fraction_by_hand():
    batches = [
        {"src": torch.tensor([[5, 6, 0], [7, 0, 0]]), "tgt_in": torch.tensor([[1, 9], [1, 0]])},
        {"src": torch.tensor([[4]]), "tgt_in": torch.tensor([[1]])},
    ]
    assert padding_fraction(batches) == pytest.approx(4 / 12)
    assert padding_fraction(batches, keys=("src",)) == pytest.approx(3 / 7)
    with pytest.raises(ValueError, match="no batches"):
        padding_fraction([])


def _epoch_indices(sampler):
    return [i for batch in sampler for i in batch]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_covers_every_index_once(shuffle, drop_last):
    rng = random.Random(0)
    lengths = [rng.randint(1, 200) for _ in range(103)]
    sampler = LengthBucketSampler(
        lengths, 8, shuffle=shuffle, seed=3, bucket_size_multiplier=4, drop_last=drop_last
    )
    for _ in range(3):
        batches = list(sampler)
        assert len(batches) == len(sampler) == (12 if drop_last else 13)
        seen = [i for b in batches for i in b]
        assert len(seen) == len(set(seen))
        if drop_last:
            assert all(len(b) == 8 for b in batches) and len(seen) == 96
        else:
            assert sorted(seen) == list(range(103))
    if not shuffle:
        flat = [lengths[i] for i in _epoch_indices(sampler)]
        assert flat == sorted(flat)


def test_sampler_is_deterministic_per_seed_and_epoch():
    lengths = list(range(200, 0, -1))
    a = LengthBucketSampler(lengths, 10, seed=1, bucket_size_multiplier=5)
    b = LengthBucketSampler(lengths, 10, seed=1, bucket_size_multiplier=5)
    epoch0, epoch1 = list(a), list(a)  # iterating advances the epoch
    assert epoch0 != epoch1
    assert list(b) == epoch0
    b.set_epoch(1)
    assert list(b) == epoch1
    b.set_epoch(0)
    assert list(b) == epoch0
    assert list(LengthBucketSampler(lengths, 10, seed=2, bucket_size_multiplier=5)) != epoch0
    with pytest.raises(ValueError, match="batch_size"):
        LengthBucketSampler(lengths, 0)
    with pytest.raises(ValueError, match="at least one"):
        LengthBucketSampler([], 4)


def test_sampler_lowers_padding_vs_random_batches(tok):
    rng = random.Random(0)
    rows = [
        {"prompt": "Task " * rng.randint(1, 20), "code": "x = 1\n" * rng.randint(1, 60)} for _ in range(200)
    ]
    encoded = encode_rows(rows, tok)
    collate = Seq2SeqCollator(tok, 64, 512)
    perm = list(range(len(rows)))
    rng.shuffle(perm)
    random_batches = [collate([encoded[i] for i in perm[k : k + 16]]) for k in range(0, len(rows), 16)]
    sampler = LengthBucketSampler(example_lengths(encoded, 64, 512), 16, seed=0, bucket_size_multiplier=4)
    loader = DataLoader(encoded, batch_sampler=sampler, collate_fn=collate)
    bucketed = list(loader)
    assert sum(b["src"].shape[0] for b in bucketed) == len(rows)
    # src and tgt lengths are independent here, so sorting by their sum cannot remove all padding
    assert padding_fraction(bucketed) < 0.7 * padding_fraction(random_batches)
    tgt_only = ("tgt_in",)
    assert padding_fraction(bucketed, keys=tgt_only) < 0.5 * padding_fraction(random_batches, keys=tgt_only)


def test_padding_report_small(tok):
    rows = ROWS * 10
    report = padding_report(rows, tok, batch_size=4, max_tgt_len=8)
    assert report["rows"] == 40 and report["random"]["batches"] == report["bucketed"]["batches"] == 10
    assert report["bucketed"]["total"] <= report["random"]["total"]
    assert 0 <= report["bucketed"]["total"] < 1 and report["truncation"]["truncated_tgt"] > 0
    assert report["reduction"] == pytest.approx(1 - report["bucketed"]["total"] / report["random"]["total"])


def test_padding_report_on_real_xlcost_test(xlcost_dir):
    report = xlcost_padding_report(xlcost_dir, batch_size=32, vocab_size=2000)
    assert report["rows"] == 887 and report["random"]["batches"] == 28
    assert report["bucketed"]["total"] < 0.5 * report["random"]["total"]
    assert report["truncation"]["truncated_tgt"] == 0  # no limit given: nothing cut
