"""Tokenizers: a lossless byte-level BPE (the default) and the report's CodeLlama tokenizer.

Chapter 02 (preprocessing) teaches this module. Both classes expose the same small interface, so the
collator, the training loop and the decoders never care which one they hold::

    tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id, tok.vocab_size
    tok.encode(text) -> list[int]                     # no special tokens added
    tok.decode(ids, skip_special_tokens=True) -> str
    tok.tokens(text, visible=False) -> list[str]      # readable pieces for the tokenizer widget
    tok.save(directory); load_tokenizer(directory)

``CodeTokenizer`` is a byte-level BPE trained offline with Hugging Face ``tokenizers``. Every string is
first turned into bytes, so there is no unknown character and ``decode(encode(text)) == text`` exactly:
indentation, tabs, blank lines, trailing newlines, ``\\r\\n``, ``▁`` and emoji all survive. Special tokens
have fixed ids ``<pad>=0, <bos>=1, <eos>=2, <unk>=3`` (see DESIGN.md); a literal ``"<pad>"`` inside the
text is encoded as ordinary characters, never as the special token, so it survives the round trip too.

``HFTokenizer`` wraps ``transformers.AutoTokenizer`` -- by default the report's
``codellama/CodeLlama-7b-Python-hf``, which needs the Hugging Face hub.

The teaching helpers ``standardize`` and ``preprocess_steps`` show standardize -> tokenize -> numericalize
on the report's example prompt ``"Create a python function."``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

from .slots import is_slot_token

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS: dict[str, int] = {PAD: 0, BOS: 1, EOS: 2, UNK: 3}  # fixed ids, DESIGN.md
TOKENIZER_FILE = "tokenizer.json"  # the Hugging Face `tokenizers` file
META_FILE = "codegen_tokenizer.json"  # our metadata: which class, special ids, vocab size
FORMAT_VERSION = 1
REPORT_EXAMPLE = "Create a python function."  # the report's preprocessing example (section 4.2.1)

# How `tokens(..., visible=True)` draws whitespace, so the widget shows what the model sees.
VISIBLE_WHITESPACE = {" ": "·", "\t": "→", "\n": "↵\n", "\r": "␍"}


# --------------------------------------------------------------------------------------------------
# Byte <-> printable character table of byte-level BPE (GPT-2's scheme): every byte gets one visible
# character, e.g. space -> 'Ġ', newline -> 'Ċ', tab -> 'ĉ'. We rebuild it to turn token strings back
# into the raw text each token stands for.
# --------------------------------------------------------------------------------------------------
def _byte_to_char() -> dict[int, str]:
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    )
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_CHAR_TO_BYTE = {c: b for b, c in _byte_to_char().items()}


def _piece_text(piece: str) -> str:
    """Raw text of one byte-level token string; bytes that are not whole UTF-8 show as ``\\xNN``."""
    if not all(c in _CHAR_TO_BYTE for c in piece):
        return piece  # a special token such as "<bos>"
    return bytes(_CHAR_TO_BYTE[c] for c in piece).decode("utf-8", errors="backslashreplace")


def _visible(text: str) -> str:
    return "".join(VISIBLE_WHITESPACE.get(c, c) for c in text)


# --------------------------------------------------------------------------------------------------
# Teaching helpers (chapter 02)
# --------------------------------------------------------------------------------------------------
def standardize(text: str) -> str:
    """Standardize text without harming code: only line endings change (``\\r\\n`` and ``\\r`` -> ``\\n``).

    The report lower-cased and stripped punctuation (``codegen_lib.data.report_standardize``); that turns
    ``print(x.upper())`` into ``printxupper`` and cannot be undone. Here nothing else is touched: no case
    folding, no punctuation removal, no Unicode normalization (it would rewrite string literals), no
    stripping (indentation is syntax and a trailing newline is part of the file).
    """
    if not isinstance(text, str):
        raise TypeError(f"standardize expects a str, got {type(text).__name__}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def preprocess_steps(text: str, tokenizer, *, include_report: bool = False) -> dict:
    """Standardize -> tokenize -> numericalize, step by step (chapter 02).

    Args:
        text: e.g. ``REPORT_EXAMPLE`` = ``"Create a python function."``.
        tokenizer: a ``CodeTokenizer`` or ``HFTokenizer``.
        include_report: also show the report's lossy pipeline (lower-case, strip punctuation, split on
            spaces), via ``codegen_lib.data.report_standardize``.

    Returns:
        dict with ``original``, ``standardized``, ``tokens`` (readable pieces), ``ids`` (one per token),
        ``decoded`` (``decode(ids)``) and ``round_trip`` (``decoded == standardized``); with
        ``include_report``, also ``report_standardized`` and ``report_words``.
    """
    standardized = standardize(text)
    ids = tokenizer.encode(standardized)
    decoded = tokenizer.decode(ids)
    steps = {
        "original": text,
        "standardized": standardized,
        "tokens": tokenizer.tokens(standardized),
        "ids": ids,
        "decoded": decoded,
        "round_trip": decoded == standardized,
    }
    if include_report:
        from codegen_lib.data import report_standardize  # lazy: data.py is a heavier import

        lossy = report_standardize(text)
        steps["report_standardized"] = lossy
        steps["report_words"] = lossy.split()
    return steps


# --------------------------------------------------------------------------------------------------
# The default tokenizer: byte-level BPE
# --------------------------------------------------------------------------------------------------
def _new_bpe() -> Tokenizer:
    """An untrained byte-level BPE pipeline that round-trips every string exactly."""
    tok = Tokenizer(models.BPE())  # no unk_token: the 256-byte alphabet covers every input
    # No normalizer (NFC/lower-casing would be lossy). add_prefix_space=False: no space is invented at
    # the start; GPT-2's regex splits words but keeps every byte.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


class CodeTokenizer:
    """Byte-level BPE with fixed special ids; the project's default tokenizer (chapter 02).

    Build one with ``train_tokenizer(texts)`` or ``CodeTokenizer.load(directory)``.

    ``tokens(text)`` returns the raw text of each token (``'Ġreturn'`` -> ``' return'``); with
    ``visible=True`` whitespace is drawn as ``·`` (space), ``→`` (tab), ``↵`` (newline). A character
    whose UTF-8 bytes are split across tokens (rare emoji) shows its bytes as ``\\xNN`` in each piece.
    """

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, tokenizer: Tokenizer):
        _check_specials(tokenizer, where="the given tokenizer")
        # Text that happens to contain "<pad>" is encoded as characters, never as the special token.
        tokenizer.encode_special_tokens = True
        self._tok = tokenizer

    def __getstate__(self) -> dict:  # pickled for DataLoader workers: the flag above is not pickled
        return {"tokenizer_json": self._tok.to_str()}

    def __setstate__(self, state: dict) -> None:
        self.__init__(Tokenizer.from_str(state["tokenizer_json"]))

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included (the model's ``V``)."""
        return self._tok.get_vocab_size(with_added_tokens=True)

    @property
    def backend(self) -> Tokenizer:
        """The underlying ``tokenizers.Tokenizer``."""
        return self._tok

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; no ``<bos>``/``<eos>`` added (the collator adds them)."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        return self._tok.encode(text, add_special_tokens=False).ids

    @property
    def slot_ids(self) -> list[int]:
        """Ids of the slot tokens (``var_0`` ...) this tokenizer holds as whole tokens; [] if none.

        Slot tokens are added by ``train_tokenizer(..., added_tokens=slots.SLOT_TOKENS)`` for models
        trained on canonicalized requests (chapter 02); decoding bans those absent from the source.
        """
        added = self._tok.get_added_tokens_decoder()  # {id: AddedToken}
        return sorted(i for i, t in added.items() if not t.special and is_slot_token(t.content))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """``[encode(t) for t in texts]``, computed in parallel by the Rust backend."""
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"encode_batch expects str items, got {type(t).__name__}")
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Text of ``ids``; special tokens are dropped unless ``skip_special_tokens=False``."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"ids out of range for a vocabulary of {self.vocab_size}: {bad[:5]}")
        return self._tok.decode(ids, skip_special_tokens=skip_special_tokens)

    def tokens(self, text: str, visible: bool = False) -> list[str]:
        """The readable piece of text behind each id of ``encode(text)`` (for the tokenizer widget)."""
        pieces = [_piece_text(p) for p in self._tok.encode(text, add_special_tokens=False).tokens]
        return [_visible(p) for p in pieces] if visible else pieces

    def id_to_token(self, i: int) -> str:
        """The stored token string (byte-level form, e.g. ``'Ġreturn'``)."""
        tok = self._tok.id_to_token(int(i))
        if tok is None:
            raise ValueError(f"id {i} is not in the vocabulary (size {self.vocab_size})")
        return tok

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``tokenizer.json`` and ``codegen_tokenizer.json`` (metadata) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._tok.save(str(directory / TOKENIZER_FILE))
        meta = {
            "format_version": FORMAT_VERSION,
            "kind": "bpe",
            "class": "CodeTokenizer",
            "vocab_size": self.vocab_size,
            "special_tokens": SPECIAL_TOKENS,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> CodeTokenizer:
        """Load what ``save`` wrote; a missing, corrupt or mismatched directory raises ``ValueError``."""
        directory = Path(directory)
        meta = _read_meta(directory)
        if meta.get("kind") != "bpe":
            raise ValueError(
                f"{directory} holds a {meta.get('kind')!r} tokenizer, not a CodeTokenizer; "
                "use codegen_lib.tokenizer.load_tokenizer(directory)"
            )
        if meta.get("special_tokens") != SPECIAL_TOKENS:
            raise ValueError(
                f"{directory / META_FILE}: special tokens {meta.get('special_tokens')} differ from the "
                f"fixed ids {SPECIAL_TOKENS}"
            )
        path = directory / TOKENIZER_FILE
        if not path.is_file():
            raise ValueError(f"{directory} has no {TOKENIZER_FILE}; was it written by CodeTokenizer.save?")
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as err:  # the Rust side raises a bare Exception on malformed JSON
            raise ValueError(f"{path} is not a valid tokenizers file: {err}") from err
        _check_specials(tok, where=str(path))
        if not isinstance(tok.pre_tokenizer, pre_tokenizers.ByteLevel) or not isinstance(
            tok.decoder, decoders.ByteLevel
        ):
            raise ValueError(f"{path} is not a byte-level BPE (its round trip would not be lossless)")
        out = cls(tok)
        if meta.get("vocab_size") != out.vocab_size:
            raise ValueError(
                f"{directory}: metadata says vocab_size={meta.get('vocab_size')} but {TOKENIZER_FILE} "
                f"has {out.vocab_size}"
            )
        return out

    def __repr__(self) -> str:
        return f"CodeTokenizer(vocab_size={self.vocab_size})"


def _check_specials(tok: Tokenizer, where: str) -> None:
    found = {name: tok.token_to_id(name) for name in SPECIAL_TOKENS}
    if found != SPECIAL_TOKENS:
        raise ValueError(f"{where}: special token ids {found} differ from the fixed ids {SPECIAL_TOKENS}")


def _read_meta(directory: Path) -> dict:
    if not directory.is_dir():
        raise ValueError(f"tokenizer directory {directory} does not exist")
    path = directory / META_FILE
    if not path.is_file():
        raise ValueError(f"{directory} has no {META_FILE}; it was not saved by codegen_lib.tokenizer")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is corrupt: {err}") from err
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unknown format (expected format_version {FORMAT_VERSION})")
    return meta


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2,
                    added_tokens: Sequence[str] = ()) -> CodeTokenizer:
    """Train the default byte-level BPE on ``texts`` (a training split: prompts and code).

    Args:
        texts: strings; nothing is standardized here (apply ``standardize`` beforehand if wanted).
        vocab_size: total ids including the 4 specials and the 256 byte tokens (so at least 260). It is an
            upper bound: a small corpus may run out of merges first.
        min_frequency: a pair must occur this often to be merged.
        added_tokens: whole words that always become one token each, after the BPE ids (the slot names
            of ``codegen_lib.slots``); they match only as whole words (``var_0`` but not ``myvar_0``).

    Training is deterministic: the same texts in the same order give the same vocabulary and merges.
    """
    if vocab_size < len(SPECIAL_TOKENS) + 256:
        raise ValueError(f"vocab_size must be at least {len(SPECIAL_TOKENS) + 256} (specials + 256 bytes)")
    if min_frequency < 1:
        raise ValueError("min_frequency must be >= 1")
    texts = list(texts)
    if not texts:
        raise ValueError("train_tokenizer got no texts")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"train_tokenizer: text {i} is a {type(t).__name__}, not a str")
    tok = _new_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),  # added first, in order: ids 0, 1, 2, 3
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, even unseen ones
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    if added_tokens:
        tok.add_tokens([AddedToken(t, single_word=True, normalized=False, special=False) for t in added_tokens])
    return CodeTokenizer(tok)  # asserts the fixed special ids


# --------------------------------------------------------------------------------------------------
# The report's tokenizer: CodeLlama via transformers
# --------------------------------------------------------------------------------------------------
def _from_hub(auto_tokenizer, name: str):
    """``AutoTokenizer.from_pretrained(name)``: the local cache first, then the hub after a quick probe."""
    from codegen_lib import hub

    try:
        return auto_tokenizer.from_pretrained(name, local_files_only=True)  # cached copy: no network needed
    except Exception:  # noqa: BLE001 -- not cached (or a broken cache entry): try the hub below
        pass

    def unavailable(cause: str) -> hub.HubUnavailableError:
        return hub.HubUnavailableError(
            f"The CodeLlama tokenizer {name!r} (the report's tokenizer) needs the Hugging Face hub, which "
            f"cannot be reached: {cause}. Offline, use the default byte-level BPE instead: "
            "codegen_lib.tokenizer.train_tokenizer(texts), or CodeTokenizer.load(directory) for a saved one."
        )

    try:
        hub.ensure_hub_reachable(f"the tokenizer {name!r}", "codegen_lib.tokenizer.train_tokenizer(texts)")
        return auto_tokenizer.from_pretrained(name)
    except hub.HubUnavailableError as err:
        raise unavailable(str(err).split(": ", 1)[-1].split(". Offline")[0]) from err
    except OSError as err:
        first_line = (str(err).splitlines() or [repr(err)])[0]
        if hub.is_connection_error(err):
            raise unavailable(first_line) from err
        raise ValueError(f"could not load the tokenizer {name!r} from the hub: {first_line}") from err


class HFTokenizer:
    """A ``transformers`` tokenizer behind the ``CodeTokenizer`` interface (chapter 02).

    The default is the report's ``codellama/CodeLlama-7b-Python-hf`` (needs the Hugging Face hub; when the
    hub is unreachable this raises ``codegen_lib.hub.HubUnavailableError``). A local directory written by
    ``save_pretrained`` (or by ``HFTokenizer.save``) loads offline.

    Special ids come from the tokenizer. CodeLlama has ``<unk>=0, <s>=1, </s>=2`` and no pad token; we pad
    with ``<unk>`` (id 0), which keeps the project's ``pad_id == 0`` without growing the vocabulary (the
    loss then also ignores the rare ``<unk>``; byte fallback means CodeLlama almost never emits it). Only
    a tokenizer with neither pad nor unk gets a new ``<pad>`` token appended.

    Unlike ``CodeTokenizer`` the round trip is the wrapped tokenizer's: SentencePiece models such as
    CodeLlama may add or drop a leading space.
    """

    def __init__(self, name_or_path: str | os.PathLike = "codellama/CodeLlama-7b-Python-hf"):
        from transformers import AutoTokenizer

        self.name_or_path = str(name_or_path)
        local = Path(name_or_path).is_dir()
        if not local and _looks_like_path(self.name_or_path):
            raise ValueError(f"tokenizer directory {name_or_path} does not exist")
        if local:
            try:
                tok = AutoTokenizer.from_pretrained(self.name_or_path, local_files_only=True)
            except Exception as err:  # corrupt json, missing files, unknown class...
                raise ValueError(
                    f"could not load a transformers tokenizer from {name_or_path}: {err}"
                ) from err
        else:
            tok = _from_hub(AutoTokenizer, self.name_or_path)
        if tok.bos_token_id is None or tok.eos_token_id is None:
            raise ValueError(f"{self.name_or_path}: a seq2seq tokenizer needs bos and eos tokens")
        if tok.pad_token_id is None:
            if tok.unk_token_id is not None:
                tok.pad_token = tok.unk_token
            else:
                tok.add_special_tokens({"pad_token": PAD})
        self._tok = tok
        self.pad_id = int(tok.pad_token_id)
        self.bos_id = int(tok.bos_token_id)
        self.eos_id = int(tok.eos_token_id)
        self.unk_id = int(tok.unk_token_id) if tok.unk_token_id is not None else self.pad_id
        self._byte_level = isinstance(
            getattr(getattr(tok, "backend_tokenizer", None), "decoder", None), decoders.ByteLevel
        )

    @property
    def vocab_size(self) -> int:
        """Number of ids including added tokens (``len(tokenizer)``)."""
        return len(self._tok)

    @property
    def backend(self):
        """The underlying ``transformers`` tokenizer."""
        return self._tok

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without ``<s>``/``</s>``."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        return list(self._tok.encode(text, add_special_tokens=False))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """``[encode(t) for t in texts]``."""
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Text of ``ids`` (no clean-up of spaces, which would change code)."""
        ids = [int(i) for i in ids]
        return self._tok.decode(
            ids, skip_special_tokens=skip_special_tokens, clean_up_tokenization_spaces=False
        )

    def tokens(self, text: str, visible: bool = False) -> list[str]:
        """Readable pieces: byte-level tokens are mapped back to raw text; SentencePiece's ``▁`` becomes a
        space and byte tokens ``<0x0A>`` their character."""
        pieces = self._tok.convert_ids_to_tokens(self.encode(text))
        if self._byte_level:
            out = [_piece_text(p) for p in pieces]
        else:
            out = [_sentencepiece_text(p) for p in pieces]
        return [_visible(p) for p in out] if visible else out

    def save(self, directory: str | os.PathLike) -> Path:
        """``save_pretrained`` plus our metadata, so ``load_tokenizer`` can reload it offline."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._tok.save_pretrained(str(directory))
        meta = {
            "format_version": FORMAT_VERSION,
            "kind": "hf",
            "class": "HFTokenizer",
            "name_or_path": self.name_or_path,
            "vocab_size": self.vocab_size,
            "special_ids": {"pad": self.pad_id, "bos": self.bos_id, "eos": self.eos_id, "unk": self.unk_id},
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> HFTokenizer:
        """Reload what ``save`` wrote, checking the special ids."""
        directory = Path(directory)
        meta = _read_meta(directory)
        if meta.get("kind") != "hf":
            raise ValueError(f"{directory} holds a {meta.get('kind')!r} tokenizer, not an HFTokenizer")
        out = cls(directory)
        out.name_or_path = meta.get("name_or_path", str(directory))
        ids = {"pad": out.pad_id, "bos": out.bos_id, "eos": out.eos_id, "unk": out.unk_id}
        if meta.get("special_ids") != ids:
            raise ValueError(
                f"{directory}: special ids {ids} differ from the saved {meta.get('special_ids')}"
            )
        return out

    def __repr__(self) -> str:
        return f"HFTokenizer({self.name_or_path!r}, vocab_size={self.vocab_size})"


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``owner/name``; anything else with a separator or a leading dot is a path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def _sentencepiece_text(piece: str) -> str:
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        b = int(piece[3:5], 16)
        return chr(b) if b < 0x80 else f"\\x{b:02x}"
    return piece.replace("▁", " ")


def load_tokenizer(directory: str | os.PathLike) -> CodeTokenizer | HFTokenizer:
    """Load whichever tokenizer ``save`` wrote into ``directory`` (used beside checkpoints)."""
    directory = Path(directory)
    kind = _read_meta(directory).get("kind")
    if kind == "bpe":
        return CodeTokenizer.load(directory)
    if kind == "hf":
        return HFTokenizer.load(directory)
    raise ValueError(f"{directory / META_FILE}: unknown tokenizer kind {kind!r} (expected 'bpe' or 'hf')")
