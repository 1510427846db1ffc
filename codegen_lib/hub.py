"""Hugging Face hub access that fails fast, with an error that names the offline alternative.

Everything in ``codegen_lib`` that reaches the hub (datasets in ``data``, the CodeLlama tokenizer in
``tokenizer``, CodeBERT in ``metrics``) goes through this module, so that a reader without network gets one
kind of error, :class:`HubUnavailableError`, instead of a hang or a stack of ``httpx``/``requests`` frames.

    with hub_errors("the XLCoST dataset", 'load_corpus("xlcost", data_dir=...)'):
        ensure_hub_reachable("the XLCoST dataset", 'load_corpus("xlcost", data_dir=...)')
        ds = datasets.load_dataset(...)

Chapter 01 (data) and chapter 02 (tokenizers) use it; nothing here downloads at import time.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

__all__ = [
    "HubError",
    "HubUnavailableError",
    "HubLoadError",
    "hub_offline",
    "ensure_hub_reachable",
    "is_connection_error",
    "hub_errors",
    "load_hub_files",
    "hub_dataset",
]

OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")  # any one set = offline
DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 3.0  # the quick TCP probe before a download; a refused or silent host fails within this

# Exception class names (anywhere in the cause chain) that mean "could not reach the hub", as raised by
# requests, httpx, urllib3, huggingface_hub and datasets. Matched by name so that no optional client library
# has to be imported to recognise its errors.
_CONNECTION_ERROR_NAMES = frozenset(
    {
        "ConnectionError",
        "ConnectTimeout",
        "ConnectError",
        "ReadTimeout",
        "Timeout",
        "TimeoutException",
        "TransportError",
        "NetworkError",
        "ProxyError",
        "MaxRetryError",
        "NewConnectionError",
        "NameResolutionError",
        "OfflineModeIsEnabled",
        "LocalEntryNotFoundError",
    }
)
_CONNECTION_MESSAGES = (
    "couldn't reach",
    "could not reach",
    "offline mode",
    "hf_hub_offline",
    "hf_datasets_offline",
    "connection error",
    "name resolution",
    "failed to establish a new connection",
    "network is unreachable",
    "cannot find the requested files in the local cache",
)


class HubError(RuntimeError):
    """Base of the two hub errors; notebooks that offer a hub switch catch this one and say so on the page."""


class HubUnavailableError(HubError):
    """The Hugging Face hub cannot be reached (no network, a firewall, or ``HF_HUB_OFFLINE=1``).

    The message always names what was being fetched and the offline alternative, e.g.
    ``load_corpus("xlcost", data_dir=...)`` or the offline corpora ``"tasks"`` / ``"stdlib"``.
    """


class HubLoadError(HubError):
    """The hub answered, but the repository cannot be loaded as asked: a dataset that still needs a loading
    script (``datasets`` >= 4 refuses them), a missing file or revision, a gated or private repository, a
    checkpoint format that this torch cannot read. The message names the repository and what to do.
    """


def hub_offline() -> bool:
    """True when the environment asks for offline mode (``HF_HUB_OFFLINE``, ``HF_DATASETS_OFFLINE`` or
    ``TRANSFORMERS_OFFLINE`` set to 1/true/yes/on). Read at call time, not at import time."""
    return any(
        os.environ.get(flag, "").strip().lower() in ("1", "true", "yes", "on") for flag in OFFLINE_FLAGS
    )


def _message(what: str, alternative: str, cause: str) -> str:
    return (
        f"Cannot load {what} from the Hugging Face hub: {cause}. "
        f"Offline, use {alternative} instead, or the offline corpora load_corpus('tasks') / "
        "load_corpus('stdlib'), which need no network."
    )


def _probe_target() -> tuple[str, int]:
    """(host, port) that a hub request would open first: the HTTPS proxy if one is set, else the endpoint."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlparse(proxy or os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT))
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    return host, port


def ensure_hub_reachable(what: str, alternative: str, *, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise :class:`HubUnavailableError` quickly if the hub cannot be reached; return None if it can.

    Offline mode (see :func:`hub_offline`) raises at once. Otherwise one TCP connection to the hub endpoint
    (``HF_ENDPOINT``, default huggingface.co:443, or the HTTPS proxy when one is set) must open within
    ``timeout`` seconds: this is what keeps a machine without network from hanging inside a download.

    Args:
        what: what is being loaded, for the message (e.g. ``"the XLCoST dataset"``).
        alternative: the offline way to get it, for the message (e.g. ``'load_corpus("xlcost", data_dir=...)'``).
        timeout: seconds to wait for the TCP connection.
    """
    if hub_offline():
        raise HubUnavailableError(
            _message(what, alternative, "offline mode is set (HF_HUB_OFFLINE or similar)")
        )
    host, port = _probe_target()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:  # refused, unreachable, DNS failure, timeout (socket.timeout is an OSError)
        raise HubUnavailableError(
            _message(what, alternative, f"{host}:{port} is unreachable ({type(err).__name__}: {err})")
        ) from err


def is_connection_error(err: BaseException) -> bool:
    """True if ``err`` (or anything in its ``__cause__``/``__context__`` chain) means the hub was unreachable."""
    seen: set[int] = set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (ConnectionError, TimeoutError, socket.gaierror)):
            return True
        if any(cls.__name__ in _CONNECTION_ERROR_NAMES for cls in type(cur).__mro__):
            return True
        text = str(cur).lower()
        if any(m in text for m in _CONNECTION_MESSAGES):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _load_advice(text: str) -> str:
    """What a reader can do about a non-network hub failure, from the error's text."""
    if "dataset scripts are no longer supported" in text or "loading script" in text:
        return (
            "the repository is a script dataset, which datasets>=4 refuses to run; load its data files "
            "(codegen_lib does this for the corpora it knows) or pass data_dir= to a local copy"
        )
    if "gated" in text or "401" in text or "403" in text or "access" in text and "restricted" in text:
        return "the repository is gated or private: accept its terms on the hub and log in (huggingface-cli login)"
    if "weights_only" in text or "torch.load" in text or ".bin" in text:
        return "this torch cannot read the checkpoint format; upgrade torch or use a safetensors revision"
    if "revision" in text or "not found" in text or "no such file" in text or "404" in text:
        return "a file or revision is missing on the hub; check the pinned revision or use a local copy"
    return "see the error chained below; a local copy (data_dir=...) avoids the hub"


@contextmanager
def hub_errors(what: str, alternative: str, repo: str | None = None) -> Iterator[None]:
    """Turn connection/offline errors raised inside the block into :class:`HubUnavailableError`.

    With ``repo`` (the hub repository being read), every other failure inside the block -- a script
    dataset, a missing file, a gated repository, an unreadable checkpoint -- becomes a :class:`HubLoadError`
    that names the repository and what to do; the original error is chained. Without ``repo`` other
    errors pass through unchanged.
    """
    try:
        yield
    except HubError:
        raise
    except Exception as err:
        first_line = (str(err).splitlines() or [repr(err)])[0]
        if is_connection_error(err):
            raise HubUnavailableError(
                _message(what, alternative, f"{type(err).__name__}: {first_line}")
            ) from err
        if repo is None:
            raise
        advice = _load_advice(str(err).lower())
        raise HubLoadError(
            f"Cannot load {what} from the hub repository {repo!r}: {type(err).__name__}: {first_line}. "
            f"What to do: {advice}. Offline, use {alternative}."
        ) from err


# ----------------------------------------------------------------------------------------------------------------
# Reading a hub dataset's data files (never its loading script)
# ----------------------------------------------------------------------------------------------------------------
HUB_URL_ENV = "CODEGEN_HUB_DATASETS_URL"  # tests point this at a local folder laid out like the hub


def hub_data_url(repo: str, revision: str, path: str) -> str:
    """The address of one data file of a hub dataset at a pinned revision.

    ``hf://datasets/<repo>@<revision>/<path>`` (the ``huggingface_hub`` file system; a revision such as
    ``refs/convert/parquet`` is URL-quoted). When ``$CODEGEN_HUB_DATASETS_URL`` names a local folder, the
    file is ``<folder>/<repo>/<path>`` instead: that is how the tests stand up a fake hub repository.
    """
    base = os.environ.get(HUB_URL_ENV, "").rstrip("/")
    if base and not base.startswith("hf://"):
        return f"{base}/{repo}/{path}"
    from urllib.parse import quote

    return f"{base or 'hf://datasets'}/{repo}@{quote(revision, safe='')}/{path}"


def load_hub_files(
    what: str, alternative: str, repo: str, revision: str, builder: str, files: dict[str, str]
):
    """Load ``{split: path inside the repo}`` with the ``datasets`` builder ``builder`` ("json", "parquet").

    This reads the data files only: a loading script in the same repository is never looked at, so it
    works with ``datasets`` >= 4, which refuses scripts. Network failures raise
    :class:`HubUnavailableError` (after a quick probe, so an offline machine never hangs); any other
    failure raises :class:`HubLoadError` naming ``repo``.
    """
    import datasets

    data_files = {split: hub_data_url(repo, revision, path) for split, path in files.items()}
    local = not next(iter(data_files.values())).startswith("hf://")
    with hub_errors(what, alternative, repo=repo):
        if not local:
            ensure_hub_reachable(what, alternative)
        return datasets.load_dataset(builder, data_files=data_files)


def hub_dataset(what: str, alternative: str, *args: Any, **kwargs: Any):
    """``datasets.load_dataset(*args, **kwargs)``, failing fast with :class:`HubUnavailableError`.

    ``what`` names the data in the error, ``alternative`` says how to load it without the hub.
    """
    import datasets

    with hub_errors(what, alternative, repo=str(args[0]) if args else None):
        cache_only = hub_offline() and bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))
        if not cache_only:  # offline datasets only reads its cache, which is fast; otherwise probe first
            ensure_hub_reachable(what, alternative)
        return datasets.load_dataset(*args, **kwargs)
