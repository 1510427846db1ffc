"""codegen_lib.data: the statistics of chapter 01 (split sizes, lengths, truncation, examples).

The corpora themselves are tested in tests/corpora/, one file per source."""


import pytest
from datasets import Dataset, DatasetDict

from codegen_lib.data import (
    examples,
    length_summary,
    lengths,
    truncation_counts,
)


# ---------------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------------
class WordTokenizer:
    def encode(self, text):
        return list(range(len(text.split())))


@pytest.fixture()
def small_dd():
    return DatasetDict(
        {
            "train": Dataset.from_dict(
                {
                    "prompt": ["add two numbers", "a much longer prompt with seven words"],
                    "code": ["def f ( a , b ) :", "x = 1"],
                    "source": ["t", "t"],
                    "id": ["0", "1"],
                }
            ),
            "test": Dataset.from_dict({"prompt": ["p"], "code": ["c"], "source": ["t"], "id": ["2"]}),
        }
    )


def test_lengths_and_summary(small_dd):
    assert lengths(small_dd["train"], "prompt") == [15, 37]
    assert lengths(small_dd["train"], "code", WordTokenizer()) == [8, 3]
    table = length_summary(small_dd, tokenizer=WordTokenizer())
    row = next(r for r in table if (r["split"], r["column"], r["unit"]) == ("train", "prompt", "tokens"))
    assert row["count"] == 2 and row["max"] == 7 and row["mean"] == 5.0
    assert {r["unit"] for r in length_summary(small_dd)} == {"chars"}
    with pytest.raises(ValueError, match="column"):
        lengths(small_dd["train"], "text")


def test_truncation_counts(small_dd):
    counts = truncation_counts(small_dd, WordTokenizer(), max_src_len=4, max_tgt_len=4)
    # row 0: prompt 3 + <eos> = 4 (fits), code 8 + 1 special = 9 > 4 (cut); row 1: prompt 7 + 1 (cut), code 3 + 1 = 4
    assert counts["train"] == {"rows": 2, "src_truncated": 1, "tgt_truncated": 1, "any_truncated": 2}
    # one token less of budget cuts row 0's prompt too, exactly as the collator's prompt_ids[:max_src_len - 1]
    assert truncation_counts(small_dd, WordTokenizer(), max_src_len=3, max_tgt_len=4)["train"]["src_truncated"] == 2
    assert counts["test"]["any_truncated"] == 0
    with pytest.raises(ValueError):
        truncation_counts(small_dd, WordTokenizer(), max_src_len=0, max_tgt_len=4)


def test_examples_are_deterministic(small_dd):
    assert examples(small_dd, "train", n=1, seed=5) == examples(small_dd, "train", n=1, seed=5)
    assert len(examples(small_dd, "train", n=10)) == 2
    with pytest.raises(ValueError, match="split"):
        examples(small_dd, "validation")
