"""Model configuration: one dataclass and its named presets (chapter 06).

``ModelConfig`` holds every number that shapes the Transformer. The presets name the models the book uses:

==========  =======  =====  ======  ====  ========  ========  =============================================
preset      d_model  heads  layers  d_ff  src len   tgt len   notes
==========  =======  =====  ======  ====  ========  ========  =============================================
seed        128      8      6 + 6   1024  128       256       the capstone report's model (post-LN)
tiny        32       2      2 + 2   64    64        96        tests, CI and the book's fast mode
small       128      4      3 + 3   512   128       256       trainable on a laptop CPU
improved    256      8      3 + 3   1024  128       256       pre-LN, tied embeddings
copy        256      8      3 + 3   1024  128       256       improved + copy head + slot canonicalization
==========  =======  =====  ======  ====  ========  ========  =============================================

The vocabulary sizes are placeholders (8000); callers override them with ``tokenizer.vocab_size``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ModelConfig", "PRESETS"]


@dataclass
class ModelConfig:
    """Every hyper-parameter of the encoder-decoder Transformer (chapter 06).

    Build a model from it with ``codegen_lib.model.build_model(cfg)``.
    """

    src_vocab_size: int = 8000  # source (prompt) vocabulary; == tokenizer.vocab_size
    tgt_vocab_size: int = 8000  # target (code) vocabulary; == tokenizer.vocab_size (one shared vocabulary)
    d_model: int = 128  # width of every token vector (the report: 128)
    num_heads: int = 8  # attention heads; d_k = d_model // num_heads
    num_layers: int = 6  # encoder layers == decoder layers (the report: 6 + 6)
    d_ff: int = 1024  # hidden width of the position-wise feed-forward network
    max_src_len: int = 128  # longest prompt in tokens
    max_tgt_len: int = 256  # longest target in tokens, including <bos>/<eos>
    dropout: float = 0.1  # dropout after embeddings and on every residual branch
    pad_id: int = 0  # padding token id (the report hard-codes 0)
    norm_first: bool = False  # False = post-LN as in the report; True = pre-LN (more stable when deep)
    tie_embeddings: bool = False  # share decoder embedding, output projection and encoder embedding
    copy_head: bool = False  # pointer-generator: mix the vocabulary softmax with copying source tokens
    slots: bool = False  # requests are slot-canonicalized (codegen_lib.slots) before encoding; generate restores

    def __post_init__(self) -> None:
        for name in ("src_vocab_size", "tgt_vocab_size", "d_model", "num_heads", "num_layers", "d_ff",
                     "max_src_len", "max_tgt_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ModelConfig.{name} must be a positive integer, got {value!r}")
        if self.d_model % self.num_heads != 0:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads}) "
                "so that every head gets d_k = d_model // num_heads dimensions"
            )
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"ModelConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if not 0 <= self.pad_id < min(self.src_vocab_size, self.tgt_vocab_size):
            raise ValueError(f"pad_id {self.pad_id} is outside the vocabulary")
        if self.copy_head and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError("copy_head=True copies source ids into the target vocabulary, so it needs one "
                             f"shared vocabulary, but {self.src_vocab_size} != {self.tgt_vocab_size}")
        if self.tie_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                "tie_embeddings=True needs one shared vocabulary, but src_vocab_size "
                f"({self.src_vocab_size}) != tgt_vocab_size ({self.tgt_vocab_size})"
            )

    @property
    def d_k(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.num_heads

    @property
    def max_seq_length(self) -> int:
        """Length of the positional-encoding table: the longer of the source and target limits."""
        return max(self.max_src_len, self.max_tgt_len)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ModelConfig:
        """A named preset (``"seed"``, ``"tiny"``, ``"small"``, ``"improved"``), with fields overridden.

        >>> ModelConfig.preset("tiny", src_vocab_size=300, tgt_vocab_size=300).d_model
        32
        """
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field (what ``config.json`` in a checkpoint holds)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`. Unknown keys raise ``ValueError`` (a typo must not pass silently)."""
        return strict_from_dict(cls, d)


def strict_from_dict(cls, d: dict[str, Any]):
    """Build the dataclass ``cls`` from ``d``; a non-dict raises ``TypeError``, unknown keys ``ValueError``.

    Shared by :class:`ModelConfig` and :class:`codegen_lib.train.TrainConfig`: configs come back from JSON
    files, and a misspelt key must fail loudly instead of being dropped.
    """
    if not isinstance(d, dict):
        raise TypeError(f"{cls.__name__}.from_dict expects a dict, got {type(d).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} key(s) {unknown}; valid keys are {sorted(known)}")
    return cls(**d)


PRESETS: dict[str, dict[str, Any]] = {
    # the capstone report's model: 6 + 6 layers, 8 heads, d_ff 1024, d_model 128, dropout 0.1, lengths 128/256
    "seed": dict(d_model=128, num_heads=8, num_layers=6, d_ff=1024, max_src_len=128, max_tgt_len=256,
                 dropout=0.1, norm_first=False, tie_embeddings=False),
    # seconds per test on CPU; the book's fast mode
    "tiny": dict(d_model=32, num_heads=2, num_layers=2, d_ff=64, max_src_len=64, max_tgt_len=96,
                 dropout=0.1, norm_first=False, tie_embeddings=False),
    # a little bigger, still trainable on a 2-core CPU in minutes
    "small": dict(d_model=128, num_heads=4, num_layers=3, d_ff=512, max_src_len=128, max_tgt_len=256,
                  dropout=0.1, norm_first=False, tie_embeddings=False),
    # the book's improvement over the report: pre-LN and tied embeddings, wider but shallower
    "improved": dict(d_model=256, num_heads=8, num_layers=3, d_ff=1024, max_src_len=128, max_tgt_len=256,
                     dropout=0.1, norm_first=True, tie_embeddings=True),
    # improved + a pointer-generator copy head over the shared vocabulary + slot-canonicalized requests
    "copy": dict(d_model=256, num_heads=8, num_layers=3, d_ff=1024, max_src_len=128, max_tgt_len=256,
                 dropout=0.1, norm_first=True, tie_embeddings=True, copy_head=True, slots=True),
}
