"""Metrics for generated code: BLEU, XLCoST-style BLEU, CodeBERTScore, syntax validity, exact match, pass@k.

Chapter 09 (evaluation) teaches these. The report (Table 5.1) scores its models with BLEU and CodeBERTScore; both
measure resemblance to a reference, not whether the code works, so the chapter adds syntax validity, exact match
and functional correctness (pass@k, computed from sandboxed runs in :mod:`codegen_lib.sandbox`).

Every function takes plain Python lists of strings and returns plain floats / dicts, so results are JSON-safe.
"""

from __future__ import annotations

import ast
import contextlib
import math
import os
import re
from collections import Counter
from collections.abc import Sequence

__all__ = [
    "bleu",
    "xlcost_bleu",
    "corpus_bleu_tokens",
    "codebertscore",
    "codebleu",
    "syntax_validity",
    "exact_match",
    "token_exact_match",
    "conala_tokenize",
    "conala_bleu",
    "statement_validity",
    "pass_at_k",
    "NOT_COMPUTED_HUB",
]

# The literal marker that results tables show for a metric whose model could not be fetched.
NOT_COMPUTED_HUB = "not computed: hub unreachable"


def _check_pairs(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if isinstance(hyps, str) or isinstance(refs, str):
        raise TypeError("hyps and refs must be lists of strings, not a single string")
    if len(hyps) != len(refs):
        raise ValueError(f"hyps and refs must have the same length, got {len(hyps)} hypotheses and {len(refs)} references")
    if len(hyps) == 0:
        raise ValueError("cannot score an empty corpus: hyps and refs are empty")
    for name, seq in (("hyps", hyps), ("refs", refs)):
        for i, s in enumerate(seq):
            if not isinstance(s, str):
                raise TypeError(f"{name}[{i}] is {type(s).__name__}, expected str")


# ----------------------------------------------------------------------------------------------------------------
# BLEU (sacrebleu)
# ----------------------------------------------------------------------------------------------------------------
def bleu(hyps: Sequence[str], refs: Sequence[str], *, tokenize: str = "13a") -> dict:
    """Corpus BLEU (sacrebleu) on detokenized code, with its signature.

    Args:
        hyps: generated programs, real (indented, multi-line) Python source, one string per example.
        refs: the reference programs, same length as ``hyps`` (one reference each).
        tokenize: sacrebleu tokenizer; the default ``"13a"`` is the one chapter 09 reports.

    Returns:
        ``{"score": float in [0, 100], "signature": str}`` -- always print the signature beside the score.

    Why ``tokenize="13a"`` for code: sacrebleu's standard tokenizer replaces newlines by spaces and splits off
    ASCII punctuation (``( ) [ ] { } : , = + < > " '`` and ``.`` after a non-digit), so ``x.append(y[0])``
    becomes ``x . append ( y [ 0 ] )`` -- identifiers, keywords and punctuation each count as an n-gram unit,
    which is what a code n-gram should be. Numbers such as ``1.5`` stay whole. The alternatives are worse for
    code: ``"none"`` only splits on whitespace, so ``f(x):`` is one opaque token and a single changed character
    costs a whole token; ``"char"`` scores characters and rewards near-misses in identifiers. Tokenizing with
    Python's own ``tokenize`` module would be the most faithful split, but it is not a sacrebleu tokenizer, so
    the signature would no longer describe the computation and the score would not be reproducible by others;
    13a gets close to it (it also splits ``==`` into ``= =``, harmlessly, on both sides). The price of 13a is
    that indentation is invisible: BLEU cannot see a wrongly indented block -- syntax validity and pass@k can.
    """
    _check_pairs(hyps, refs)
    from sacrebleu.metrics import BLEU

    metric = BLEU(tokenize=tokenize)
    result = metric.corpus_score(list(hyps), [list(refs)])
    return {"score": float(result.score), "signature": str(metric.get_signature())}


# ----------------------------------------------------------------------------------------------------------------
# XLCoST / CodeXGLUE-style smoothed BLEU-4
# ----------------------------------------------------------------------------------------------------------------
def _ngram_counts(tokens: Sequence[str], max_order: int) -> Counter:
    counts: Counter = Counter()
    for n in range(1, max_order + 1):
        for i in range(len(tokens) - n + 1):
            counts[tuple(tokens[i : i + n])] += 1
    return counts


def corpus_bleu_tokens(
    hyp_tokens: Sequence[Sequence[str]],
    ref_tokens: Sequence[Sequence[str]],
    *,
    max_order: int = 4,
    smooth: bool = True,
) -> float:
    """Corpus BLEU on pre-tokenized text, as CodeXGLUE's evaluator defines it (score in [0, 1]).

    Per order n, clipped n-gram matches and candidate n-gram counts are summed over the corpus. With
    ``smooth=True`` every order's precision is ``(matches + 1) / (possible + 1)`` (Lin & Och add-one smoothing,
    applied to all orders, unigrams included). The score is ``BP * exp(mean(log p_n))`` with brevity penalty
    ``BP = exp(1 - r / c)`` when the candidate length ``c`` is at most the reference length ``r``, else 1.
    An empty candidate corpus scores 0.
    """
    if len(hyp_tokens) != len(ref_tokens):
        raise ValueError(f"got {len(hyp_tokens)} hypotheses and {len(ref_tokens)} references")
    if max_order < 1:
        raise ValueError(f"max_order must be >= 1, got {max_order}")
    matches = [0] * max_order
    possible = [0] * max_order
    hyp_len = ref_len = 0
    for hyp, ref in zip(hyp_tokens, ref_tokens):
        hyp_len += len(hyp)
        ref_len += len(ref)
        overlap = _ngram_counts(hyp, max_order) & _ngram_counts(ref, max_order)  # clipped counts
        for ngram, count in overlap.items():
            matches[len(ngram) - 1] += count
        for n in range(1, max_order + 1):
            possible[n - 1] += max(len(hyp) - n + 1, 0)
    if smooth:
        precisions = [(m + 1.0) / (p + 1.0) for m, p in zip(matches, possible)]
    else:
        precisions = [m / p if p > 0 else 0.0 for m, p in zip(matches, possible)]
    if min(precisions) <= 0.0 or hyp_len == 0:
        return 0.0
    geo_mean = math.exp(sum(math.log(p) for p in precisions) / max_order)
    ratio = hyp_len / ref_len if ref_len > 0 else float("inf")
    brevity = 1.0 if ratio > 1.0 else math.exp(1.0 - 1.0 / ratio)
    return geo_mean * brevity


def xlcost_bleu(hyps: Sequence[str], refs: Sequence[str], *, tokenized: bool = False) -> float:
    """Smoothed corpus BLEU-4 as XLCoST's evaluator (CodeXGLUE ``bleu.py``) computes it, times 100.

    XLCoST scores whitespace-split code written in its token format (``def f ( x ) : NEW_LINE INDENT ...``), so
    the markers ``NEW_LINE`` / ``INDENT`` / ``DEDENT`` count as tokens and indentation does matter here, unlike
    in :func:`bleu`. Use this number to compare with XLCoST's published results.

    Args:
        hyps, refs: real Python source (converted with ``codegen_lib.corpora.xlcost_tokens.xlcost_tokenize``), or, with
            ``tokenized=True``, strings already in XLCoST's token format (split on whitespace as they are).

    Returns:
        The score in [0, 100] (not rounded; XLCoST prints it rounded to 2 decimals).
    """
    _check_pairs(hyps, refs)
    if tokenized:
        hyp_tok = [h.split() for h in hyps]
        ref_tok = [r.split() for r in refs]
    else:
        from codegen_lib.corpora.xlcost_tokens import (
            xlcost_tokenize,  # imported lazily: only this metric needs it
        )

        hyp_tok = [_xlcost_tokens(xlcost_tokenize, h) for h in hyps]
        ref_tok = [_xlcost_tokens(xlcost_tokenize, r) for r in refs]
    return 100.0 * corpus_bleu_tokens(hyp_tok, ref_tok, max_order=4, smooth=True)


def _xlcost_tokens(xlcost_tokenize, code: str) -> list[str]:
    out = xlcost_tokenize(code)
    return out.split() if isinstance(out, str) else list(out)


# ----------------------------------------------------------------------------------------------------------------
# CodeBERTScore (code-bert-score package)
# ----------------------------------------------------------------------------------------------------------------
def _local_num_layers(path: str) -> int:
    import json

    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    if "num_hidden_layers" not in cfg:
        raise ValueError(f"{path}/config.json has no num_hidden_layers; pass num_layers= explicitly")
    return int(cfg["num_hidden_layers"])


def codebertscore(
    hyps: Sequence[str],
    refs: Sequence[str],
    *,
    lang: str = "python",
    model_type: str | None = None,
    num_layers: int | None = None,
    batch_size: int = 32,
    device: str | None = None,
) -> dict:
    """CodeBERTScore (Zhou et al. 2023) through the ``code-bert-score`` package: mean P, R, F1, F3.

    Args:
        hyps, refs: generated and reference programs (real Python source), same length.
        lang: picks the package's default model (``"python"`` -> ``neulab/codebert-python``, layer 11).
        model_type: a hub name or a local directory holding a RoBERTa-style model and tokenizer
            (``save_pretrained`` layout); overrides ``lang``'s default.
        num_layers: which layer's hidden states to use; default: the package's choice for hub models, the
            last layer for a local directory.

    Returns:
        ``{"precision", "recall", "f1", "f3", "model", "num_layers"}``; the four scores are corpus means.

    What the package computes (idf off, no baseline rescaling, as the report's numbers): each text is
    encoded with ``<s> ... </s>``; tokens made only of punctuation (other than ``+-*/&|~``) are dropped;
    for each remaining candidate token, its best cosine similarity with any remaining reference token
    (``<s>``/``</s>`` included as match targets) is taken, and precision is the mean of these over the
    candidate tokens except ``<s>``/``</s>`` (recall symmetrically); F1 = 2PR/(P+R), F3 = 10PR/(9P+R).

    Raises:
        HubUnavailableError: the hub model cannot be fetched (no network) -- callers report
            ``NOT_COMPUTED_HUB`` instead of a number.
        ValueError: the tokenizer encodes non-empty code to nothing but ``<s></s>`` (a wrongly built
            tokenizer); the package would silently return zeros for such input.
    """
    _check_pairs(hyps, refs)
    import code_bert_score
    from code_bert_score.utils import lang2model, model2layers, sent_encode

    if model_type is None:
        model_type = lang2model[lang.lower()]
    is_local = os.path.isdir(model_type)
    if num_layers is None:
        num_layers = _local_num_layers(model_type) if is_local else model2layers[model_type]

    tokenizer = _load_cbs_tokenizer(model_type, is_local)
    # A wrongly built tokenizer maps all text to <s></s>; the package then prints "Empty candidate sentence
    # detected" and scores 0. Probe with a fixed snippet and with every non-blank input.
    special = set(tokenizer.all_special_ids)
    probe = "def add(a, b):\n    return a + b"
    for text in [probe, *hyps, *refs]:
        if text.strip() and not [i for i in sent_encode(tokenizer, text) if i not in special]:
            raise ValueError(
                f"the tokenizer of {model_type!r} encodes non-empty code {text[:40]!r} to special tokens only "
                "(<s></s>); it is built wrongly (e.g. missing vocab/merges). CodeBERTScore would silently be 0."
            )

    import torch

    # Blank texts crash code-bert-score 0.4.1 under transformers 5 (it calls the removed
    # build_inputs_with_special_tokens); the package's intended score for them is 0, so score them 0 here.
    keep = [i for i, (h, r) in enumerate(zip(hyps, refs)) if h.strip() and r.strip()]
    scores = torch.zeros(len(hyps), 4)  # (N, 4): P, R, F1, F3
    if keep:
        with contextlib.nullcontext() if is_local else _hub_context(model_type):  # weights may need the hub
            out = code_bert_score.score(
                cands=[hyps[i] for i in keep],
                refs=[refs[i] for i in keep],
                model_type=model_type,
                num_layers=num_layers,
                batch_size=batch_size,
                device=device or ("cuda" if torch.cuda.is_available() else "cpu"),
            )
        scores[keep] = torch.stack([t.float().cpu() for t in out], dim=-1)  # (len(keep), 4)
    p, r, f1, f3 = scores.unbind(dim=-1)
    return {
        "precision": float(p.mean()),
        "recall": float(r.mean()),
        "f1": float(f1.mean()),
        "f3": float(f3.mean()),
        "model": model_type,
        "num_layers": int(num_layers),
    }


def _hub_context(model_type: str):
    from codegen_lib.hub import hub_errors

    return hub_errors(
        f"the CodeBERTScore model {model_type!r}",
        f"codebertscore(..., model_type=<local directory with a saved model and tokenizer>), or report "
        f"CodeBERTScore as {NOT_COMPUTED_HUB!r}",
    )


def _load_cbs_tokenizer(model_type: str, is_local: bool):
    from transformers import AutoTokenizer

    if is_local:
        try:
            return AutoTokenizer.from_pretrained(model_type)
        except Exception as err:
            raise ValueError(f"cannot load a tokenizer from local directory {model_type!r}: {err}") from err
    from codegen_lib.hub import ensure_hub_reachable, hub_offline

    with _hub_context(model_type):
        if hub_offline():  # offline mode (read now, not at import time): only the local cache may serve it
            return AutoTokenizer.from_pretrained(model_type, local_files_only=True)
        # a quick TCP probe, so that a machine without network fails fast instead of hanging in retries
        ensure_hub_reachable(f"the CodeBERTScore model {model_type!r}", "codebertscore(..., model_type=<dir>)")
        return AutoTokenizer.from_pretrained(model_type)


# ----------------------------------------------------------------------------------------------------------------
# CodeBLEU (optional package)
# ----------------------------------------------------------------------------------------------------------------
def codebleu(hyps: Sequence[str], refs: Sequence[str], *, lang: str = "python") -> dict:
    """CodeBLEU (Ren et al. 2020) via the optional ``codebleu`` package; works offline once installed.

    Known to work: ``codebleu==0.7.0`` with ``tree-sitter==0.22.3`` and ``tree-sitter-python==0.21.0`` (newer
    tree-sitter-python wheels fail with "TypeError: an integer is required"). Returns the package's dict:
    ``codebleu``, ``ngram_match_score``, ``weighted_ngram_match_score``, ``syntax_match_score``,
    ``dataflow_match_score`` (all in [0, 1]).
    """
    _check_pairs(hyps, refs)
    try:
        from codebleu import calc_codebleu
    except ImportError as err:
        raise ImportError(
            "CodeBLEU needs the optional package: pip install codebleu==0.7.0 tree-sitter==0.22.3 "
            "tree-sitter-python==0.21.0"
        ) from err
    out = calc_codebleu(list(refs), list(hyps), lang=lang)
    return {k: float(v) for k, v in out.items()}


# ----------------------------------------------------------------------------------------------------------------
# Syntax validity, exact match, pass@k
# ----------------------------------------------------------------------------------------------------------------
def is_valid_python(code: str) -> bool:
    """True when ``ast.parse`` accepts ``code`` (Python 3 grammar of the running interpreter).

    The parser's own warnings about the code (``SyntaxWarning: invalid escape sequence`` in generated
    strings, say) are silenced: they describe the untrusted program, not this process."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: null bytes
        return False
    return True


def syntax_validity(codes: Sequence[str]) -> float:
    """Fraction of programs in ``codes`` that parse with ``ast.parse`` (in [0, 1])."""
    if isinstance(codes, str):
        raise TypeError("codes must be a list of strings, not a single string")
    if len(codes) == 0:
        raise ValueError("syntax_validity of an empty list is undefined")
    return sum(is_valid_python(c) for c in codes) / len(codes)


def _normalise_code(code: str) -> str:
    lines = [line.rstrip() for line in code.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def exact_match(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Fraction of hypotheses identical to their reference (in [0, 1]).

    Comparison ignores only trailing whitespace on each line, ``\\r\\n`` vs ``\\n`` and leading/trailing
    blank lines; indentation and everything else must match.
    """
    _check_pairs(hyps, refs)
    return sum(_normalise_code(h) == _normalise_code(r) for h, r in zip(hyps, refs)) / len(hyps)


def token_exact_match(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Exact match on code tokens (``x=f( a )`` equals ``x = f(a)``): Django's accuracy (Ling et al. 2016
    compare token sequences). Tokens come from :func:`codegen_lib.decontaminate.code_tokens`; string contents
    keep their words, so a changed literal still counts as a miss."""
    from codegen_lib.decontaminate import code_tokens

    _check_pairs(hyps, refs)
    return sum(code_tokens(h) == code_tokens(r) for h, r in zip(hyps, refs)) / len(hyps)


def statement_validity(codes: Sequence[str]) -> float:
    """Like :func:`syntax_validity` for single statements cut out of a block (Django): a compound-statement
    header such as ``try :`` or ``def f ( x ) :`` counts as valid when it parses with a ``pass`` body, and a
    stray ``else :`` / ``except ... :`` when it parses after a matching ``if``/``try``."""
    if len(codes) == 0:
        raise ValueError("statement_validity of an empty list is undefined")

    def ok(code: str) -> bool:
        line = code.strip()
        if is_valid_python(line):
            return True
        if line.endswith(":"):
            body = line + "\n    pass\n"
            for prefix in ("", "if x:\n    pass\n", "try:\n    pass\n", "for x in y:\n    pass\n"):
                for suffix in ("", "except Exception:\n    pass\n", "finally:\n    pass\n"):
                    if is_valid_python(prefix + body + suffix):
                        return True
        return False

    return sum(ok(c) for c in codes) / len(codes)


_CONALA_SPLIT = re.compile(r"([^A-Za-z0-9_])")
_CONALA_CAMEL = re.compile(r"([a-z])([A-Z])")


def conala_tokenize(code: str) -> list[str]:
    """CoNaLa's ``tokenize_for_bleu_eval`` (the official ``conala_eval.py``): split around every character
    that is not a letter, digit or underscore, split camelCase, and write both quote kinds as a backtick."""
    code = _CONALA_SPLIT.sub(r" \1 ", code)
    code = _CONALA_CAMEL.sub(r"\1 \2", code)
    code = re.sub(r"\s+", " ", code)
    code = code.replace('"', "`").replace("'", "`")
    return [t for t in code.split(" ") if t]


def conala_bleu(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus BLEU-4 as CoNaLa's official evaluation computes it (its tokenization, no smoothing), x 100.

    This is the number that CoNaLa's published baselines (14.72; TranX 24.3) report.
    """
    _check_pairs(hyps, refs)
    return 100.0 * corpus_bleu_tokens([conala_tokenize(h) for h in hyps], [conala_tokenize(r) for r in refs],
                                      max_order=4, smooth=False)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator (Chen et al. 2021, the Codex paper): ``1 - C(n-c, k) / C(n, k)``.

    Args:
        n: samples generated for a problem; c: how many of them passed; k: the k in pass@k (``k <= n``).

    Computed in the stable product form ``1 - prod_{i=n-c+1}^{n} (1 - k / i)``, which never forms the huge
    binomial coefficients.
    """
    for name, v in (("n", n), ("c", c), ("k", k)):
        if isinstance(v, bool) or int(v) != v:
            raise ValueError(f"{name} must be an integer, got {v!r}")
    n, c, k = int(n), int(c), int(k)
    if n < 1 or not 0 <= c <= n:
        raise ValueError(f"need n >= 1 and 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:  # every k-subset contains a passing sample
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod
