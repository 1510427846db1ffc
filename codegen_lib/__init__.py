"""codegen_lib: the one canonical implementation behind codegen-book.

Modules follow the order in which the book teaches them:

    positional  -> chapter 03   sinusoidal positional encoding
    attention   -> chapter 04   scaled dot-product and multi-head attention
    layers      -> chapter 05   feed-forward network, encoder and decoder layers
    model       -> chapter 06   the encoder-decoder Transformer, ModelConfig and presets
    data        -> chapter 01   datasets (XLCoST, Alpaca, merged, offline corpora)
    tokenizer   -> chapter 02   byte-level BPE and the report's CodeLlama tokenizer
    batching    -> chapter 02   collate, teacher-forcing shift, length buckets
    train       -> chapter 07   the training loop, checkpoints
    decode      -> chapter 08   greedy, beam, sampling, KV cache
    metrics     -> chapter 09   BLEU, CodeBERTScore, syntax validity, pass@k
    sandbox     -> chapter 09   running untrusted generated code
    viz/        -> chapters 01-10  one module per kind of view: plots, widgets, kernel-free HTML

Importing the package is cheap and has no side effects; import the submodules you need.
"""

import os

__version__ = "0.1.0"


def fast_mode() -> bool:
    """True when the book runs in fast mode (``CODEGEN_FAST=1``): tiny presets, offline data, CPU."""
    return os.environ.get("CODEGEN_FAST", "0").lower() not in ("", "0", "false", "no")
