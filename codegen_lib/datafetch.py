"""Download the real corpora the book reads, at pinned revisions, checked against pinned SHA-256 (chapter 01).

``codegen data fetch [--data-dir DIR] [--only NAME ...]`` writes the layout that ``load_corpus(name,
data_dir=DIR/<folder>)``, ``codegen_lib.data.shared_data_dir()`` and the chapters read (the layout of
``../shared/data/raw``)::

    DIR/mbpp/mbpp.jsonl                                   <- hub, 4 parquet files, converted
    DIR/conala/conala-train.json                          <- hub, 1 parquet file (train only), converted
    DIR/xlcost/pair_data_tok_full_desc/Python-desc/...    <- GitHub copy of the release files, as published
    DIR/xlcost/pair_data_tok_1_comment/Python-comment/...
    DIR/transcoder_gfg/python/*.py, LICENSE               <- GitHub, facebookresearch/CodeGen, as published
    DIR/django/all.anno, all.code, LICENSE, README.md     <- GitHub, odashi/ase15-django-dataset, as published

The default ``DIR`` is where ``shared_data_dir()`` looks: ``$CODEGEN_SHARED_DATA/raw``, else
``../shared/data/raw`` beside the repository. Re-running is cheap: a file already there with the pinned digest is
not downloaded again.

Sources, their published layout, and what the fetcher does with it:

* **MBPP**: huggingface.co/datasets/google-research-datasets/mbpp at revision ``7bc94ee`` (``MBPP_HUB`` of
  ``codegen_lib.corpora.mbpp``). The card's ``configs`` list the ``full`` config as ``full/{train,test,
  validation,prompt}-*`` parquet files with columns ``task_id`` (int32), ``text``, ``code``, ``test_list``,
  ``test_setup_code``, ``challenge_test_list``; 374 / 500 / 90 / 10 rows. The loaders read the release's
  ``mbpp.jsonl`` (one JSON object per line, task ids 1-974), so the fetcher **converts**: the four splits'
  rows, sorted by ``task_id``, one ``json.dumps`` line each in the release's key order.
* **CoNaLa**: huggingface.co/datasets/neulab/conala is a script dataset (its ``conala.py`` downloads
  ``conala-corpus-v1.1.zip`` from phontron.com); its data files on the hub are the parquet conversion on the
  ``refs/convert/parquet`` branch, ``curated/train/0000.parquet`` (``CONALA_HUB``), columns ``question_id``,
  ``intent``, ``rewritten_intent`` (nullable), ``snippet``, 2,379 rows. The loaders read the release's
  ``conala-train.json`` (a JSON array, 2-space indent), so the fetcher **converts** to that. Only the train file
  is ever requested: the 500-row test split stays held out (:data:`SOURCES` has no test URL, and
  :func:`fetch` refuses any CoNaLa URL that names a test split).
* **XLCoST**: the loaders read the official release layout (``pair_data_tok_full_desc/Python-desc/{split}-
  Python-desc-tok.{txt,py}`` with ``*-map.jsonl`` program ids, and the snippet-level comments with their ids;
  github.com/reddy-lab-code-research/XLCoST ``metadata/README.md`` describes it; the release itself is a
  zip on Google Drive). The hub's copy, codeparrot/xlcost-text-to-code ``data/Python-program-level/*.json``,
  cannot give that layout: its ``xlcost_conversion.py`` keeps only ``{"text", "code"}`` per line and drops the
  program ids and the snippet-level files. So XLCoST comes from the public GitHub copy the book's
  ``../shared`` copy was taken from, github.com/jpan999/py-assistant at ``b964333``, folder ``limited setting
  llm/datasets_summarization/`` (every file has the release's git blob hash; ``xlcost/SOURCES.md``), as
  published. Like ``../shared``, it has no training *code* (the train titles and comments are there).
* **TransCoder GfG**: a search of the hub's dataset cards found none holding these harnesses (the nearest,
  gabeorlanski/bc-transcoder, is BabelCode's re-format through a loading script, without the ``#TOFILL``
  harness files). From github.com/facebookresearch/CodeGen at ``e3e8855``,
  ``data/transcoder_evaluation_gfg/python/*.py`` (702) and ``LICENSE``, as published.
* **Django**: a search of the hub's dataset cards found none holding Oda et al.'s files. From github.com/odashi/ase15-django-dataset at
  ``c37fa28``: ``django/all.anno``, ``django/all.code`` (18,805 aligned lines), ``LICENSE``, ``README.md``, as
  published.

**Checksums.** ``data_pins.sha256`` (beside this module) pins every file written. For the files kept as
published it is the upstream file's digest (computed from ``../shared``, byte-identical to upstream per its
PROVENANCE files). For the two converted files it is the digest of the converted file (the hub's parquet bytes
are not reproducible here; a corrupted parquet fails to parse or converts to a file that fails its pin). That
the hub holds the same rows as ``../shared`` was checked where it could be: built with the card's features,
``../shared``'s MBPP splits have exactly the card's ``num_bytes`` (176,879 / 244,104 / 42,405 / 4,550); for
CoNaLa only the row count (2,379) could be compared. The converters are tested to give back the release files
byte for byte from parquet files in the hub's schema (tests/test_datafetch.py).

**Atomic writes.** Each download goes to a temporary file and each output is written to a temporary file in
its folder, renamed into place only after its digest matches. A failed, partial or corrupted download leaves
no file at the destination, and the error is one line naming the file and its source URL.

**Where it downloads from.** ``$CODEGEN_HUB_URL`` (default ``$HF_ENDPOINT``, else ``https://huggingface.co``)
and ``$CODEGEN_GITHUB_RAW_URL`` (default ``https://raw.githubusercontent.com``), or the ``hub_url`` /
``github_url`` arguments of :func:`fetch`: tests point both at a local server.

**Exit codes** of ``codegen data fetch``: 0 every file is in place and verified; 1 a file failed its pin or
could not be converted (corrupted or changed upstream); 2 bad arguments (an unknown corpus, a data dir that
cannot be written); 3 a network failure (host unreachable, HTTP error, download interrupted).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "SOURCES",
    "CORPUS_NAMES",
    "FetchError",
    "ChecksumError",
    "NetworkError",
    "Download",
    "Target",
    "Source",
    "default_data_dir",
    "load_pins",
    "mbpp_jsonl",
    "conala_json",
    "plan",
    "fetch",
    "add_fetch_arguments",
    "run_fetch",
]

HUB_URL_ENV = "CODEGEN_HUB_URL"
GITHUB_URL_ENV = "CODEGEN_GITHUB_RAW_URL"
DEFAULT_HUB_URL = "https://huggingface.co"
DEFAULT_GITHUB_URL = "https://raw.githubusercontent.com"
PINS_FILE = Path(__file__).with_name("data_pins.sha256")
TIMEOUT_S = 30.0  # per connection / read; an unreachable host fails within it
WORKERS = 8  # parallel downloads (TransCoder GfG is 703 small files)
CHUNK = 1 << 16

EXIT_OK, EXIT_CHECKSUM, EXIT_USAGE, EXIT_NETWORK = 0, 1, 2, 3

# Pinned revisions. Hub repositories: MBPP_HUB / CONALA_HUB of codegen_lib.corpora.mbpp / .conala (the same pins the
# loaders' hub route uses). GitHub repositories: the commits recorded in ../shared's PROVENANCE files.
XLCOST_REPO = ("jpan999/py-assistant", "b964333721f2a3d1b9eadc65d64bfa5f19391fb5",
               "limited setting llm/datasets_summarization")
GFG_REPO = ("facebookresearch/CodeGen", "e3e8855c4abbd7d19c8fec36b49d7e7fe7479dbf", "data/transcoder_evaluation_gfg")
DJANGO_REPO = ("odashi/ase15-django-dataset", "c37fa281ced0de16aa7868415522905f8380686e", "")
MBPP_KEYS = ("text", "code", "task_id", "test_setup_code", "test_list", "challenge_test_list")  # release order
CONALA_KEYS = ("intent", "rewritten_intent", "snippet", "question_id")  # release order


# ----------------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------------
class FetchError(Exception):
    """A file could not be put in place; ``str(err)`` is one line naming the file and its source."""

    exit_code = EXIT_USAGE


class ChecksumError(FetchError):
    """A download or converted file does not match its pinned SHA-256, or cannot be converted."""

    exit_code = EXIT_CHECKSUM


class NetworkError(FetchError):
    """The host is unreachable, answered with an HTTP error, or the download was cut short."""

    exit_code = EXIT_NETWORK


# ----------------------------------------------------------------------------------------------------------------
# What is fetched
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Download:
    """One file on a host: ``host`` is ``"hub"`` or ``"github"``, ``path`` is the URL path after the base
    (already percent-encoded)."""

    host: str
    path: str

    def url(self, hub_url: str, github_url: str) -> str:
        base = {"hub": hub_url, "github": github_url}[self.host]
        return base.rstrip("/") + "/" + self.path


@dataclass(frozen=True)
class Target:
    """One file written under the data dir: ``dest`` (relative), its pinned ``sha256``, the ``downloads`` it is
    made from, and ``convert`` (None: the single download is the file; else a function of the downloaded
    paths, in ``downloads`` order, returning the file's bytes)."""

    dest: str
    sha256: str
    downloads: tuple[Download, ...]
    convert: Callable[[list[Path]], bytes] | None = None


@dataclass(frozen=True)
class Source:
    """One corpus: its name (as ``load_corpus`` knows it), its folder under the data dir, where it comes from."""

    name: str
    folder: str
    home: str


SOURCES = (
    Source("mbpp", "mbpp", "huggingface.co/datasets/google-research-datasets/mbpp (full config, parquet)"),
    Source("conala", "conala", "huggingface.co/datasets/neulab/conala (curated train, parquet conversion)"),
    Source("xlcost", "xlcost", f"github.com/{XLCOST_REPO[0]} @ {XLCOST_REPO[1][:7]} (XLCoST release files)"),
    Source("gfg", "transcoder_gfg", f"github.com/{GFG_REPO[0]} @ {GFG_REPO[1][:7]} ({GFG_REPO[2]})"),
    Source("django", "django", f"github.com/{DJANGO_REPO[0]} @ {DJANGO_REPO[1][:7]}"),
)
CORPUS_NAMES = tuple(s.name for s in SOURCES)


def _hub(repo: str, revision: str, path: str) -> Download:
    """``datasets/<repo>/resolve/<revision>/<path>`` (a branch such as refs/convert/parquet is encoded)."""
    return Download("hub", f"datasets/{repo}/resolve/{quote(revision, safe='')}/{quote(path)}")


def _github(repo: tuple[str, str, str], rel: str) -> Download:
    name, commit, folder = repo
    path = f"{folder}/{rel}" if folder else rel
    return Download("github", f"{name}/{commit}/{quote(path)}")


def load_pins(path: Path | None = None) -> dict[str, str]:
    """``{dest: sha256}`` from the pins file (default :data:`PINS_FILE`; ``<sha256>  <dest>`` lines, ``#``
    starts a comment)."""
    pins = {}
    for line in (path or PINS_FILE).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        digest, dest = line.split(maxsplit=1)
        pins[dest.strip()] = digest.lower()
    return pins


# ----------------------------------------------------------------------------------------------------------------
# Converters (hub parquet -> the release files the loaders read)
# ----------------------------------------------------------------------------------------------------------------
def _parquet_rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def mbpp_jsonl(paths: list[Path]) -> bytes:
    """The release's ``mbpp.jsonl`` from the hub's four ``full`` parquet files: rows sorted by ``task_id``, one
    ``json.dumps`` line each in the release's key order, a final newline."""
    rows = [r for p in paths for r in _parquet_rows(p)]
    ids = sorted(r["task_id"] for r in rows)
    if ids != list(range(1, 975)):
        raise ValueError(f"expected MBPP task ids 1-974 once each, got {len(ids)} rows")
    rows.sort(key=lambda r: r["task_id"])
    return "".join(json.dumps({k: r[k] for k in MBPP_KEYS}) + "\n" for r in rows).encode("utf-8")


def conala_json(paths: list[Path]) -> bytes:
    """The release's ``conala-train.json`` (a 2-space-indented JSON array, no final newline) from the hub's
    curated-train parquet file, rows in file order."""
    (path,) = paths
    rows = _parquet_rows(path)
    return json.dumps([{k: r[k] for k in CONALA_KEYS} for r in rows], indent=2).encode("utf-8")


# ----------------------------------------------------------------------------------------------------------------
# The plan: every target file, from the pins and the sources
# ----------------------------------------------------------------------------------------------------------------
def plan(names: Iterable[str] | None = None, pins: dict[str, str] | None = None) -> list[Target]:
    """The files to write for the corpora ``names`` (default: all of :data:`CORPUS_NAMES`).

    Raises:
        FetchError: an unknown corpus name.
    """
    from codegen_lib.corpora.conala import CONALA_HUB
    from codegen_lib.corpora.mbpp import MBPP_HUB

    wanted = list(names or CORPUS_NAMES)
    unknown = sorted(set(wanted) - set(CORPUS_NAMES))
    if unknown:
        raise FetchError(f"unknown corpus {unknown[0]!r}: choose from {', '.join(CORPUS_NAMES)}")
    pins = load_pins() if pins is None else pins
    folder = {s.name: s.folder for s in SOURCES}
    targets: list[Target] = []
    for name in wanted:
        prefix = folder[name] + "/"
        if name == "mbpp":
            dl = tuple(_hub(MBPP_HUB["repo"], MBPP_HUB["revision"], MBPP_HUB["files"][s])
                       for s in ("train", "validation", "test", "prompt"))
            targets.append(Target("mbpp/mbpp.jsonl", pins["mbpp/mbpp.jsonl"], dl, mbpp_jsonl))
        elif name == "conala":
            dl = (_hub(CONALA_HUB["repo"], CONALA_HUB["revision"], CONALA_HUB["files"]["train"]),)
            targets.append(Target("conala/conala-train.json", pins["conala/conala-train.json"], dl, conala_json))
        else:
            repo = {"xlcost": XLCOST_REPO, "gfg": GFG_REPO, "django": DJANGO_REPO}[name]
            for dest, digest in sorted(pins.items()):
                if not dest.startswith(prefix):
                    continue
                rel = dest[len(prefix):]
                if name == "django" and rel.startswith("all."):
                    rel = "django/" + rel  # the data sit in the repository's django/ folder
                targets.append(Target(dest, digest, (_github(repo, rel),)))
    for t in targets:
        _refuse_conala_test(t)
    return targets


def _refuse_conala_test(target: Target) -> None:
    if target.dest.startswith("conala/") and any("test" in d.path.lower() for d in target.downloads):
        raise FetchError(f"{target.dest}: refusing a CoNaLa test-split URL (the test split stays held out)")


# ----------------------------------------------------------------------------------------------------------------
# Downloading
# ----------------------------------------------------------------------------------------------------------------
def default_data_dir() -> Path:
    """Where ``codegen_lib.data.shared_data_dir()`` looks: ``$CODEGEN_SHARED_DATA/raw``, else
    ``../shared/data/raw`` beside the repository (it need not exist yet)."""
    base = os.environ.get("CODEGEN_SHARED_DATA")
    root = Path(base) if base else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / "raw"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _download(url: str, dest_name: str, into: Path) -> Path:
    """Stream ``url`` into a new temporary file under ``into``; remove it and raise on any failure."""
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=into)
    try:
        with os.fdopen(fd, "wb") as out:
            req = urllib.request.Request(url, headers={"User-Agent": "codegen-book-datafetch"})
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                expected = resp.headers.get("Content-Length")
                got = 0
                while block := resp.read(CHUNK):
                    out.write(block)
                    got += len(block)
            if expected is not None and got != int(expected):
                raise NetworkError(f"{dest_name}: download interrupted after {got} of {expected} bytes "
                                   f"(source: {url})")
        return Path(tmp)
    except FetchError:
        os.unlink(tmp)
        raise
    except urllib.error.HTTPError as err:
        os.unlink(tmp)
        raise NetworkError(f"{dest_name}: HTTP {err.code} {err.reason} (source: {url})") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        os.unlink(tmp)  # refused, DNS, timeout, a connection cut mid-body (IncompleteRead)
        reason = getattr(err, "reason", None) or err
        raise NetworkError(f"{dest_name}: cannot download ({reason}) (source: {url})") from None
    except BaseException:
        os.unlink(tmp)
        raise


def _write_target(target: Target, data_dir: Path, hub_url: str, github_url: str) -> str:
    """Put one target in place (atomically); returns "ok" (already there) or "fetched"."""
    dest = data_dir / target.dest
    urls = [d.url(hub_url, github_url) for d in target.downloads]
    try:
        if dest.is_file() and _sha256(dest) == target.sha256:
            return "ok"
        dest.parent.mkdir(parents=True, exist_ok=True)
        return _fetch_into(target, dest, urls)
    except OSError as err:  # a read-only or full data dir; download errors are NetworkError already
        raise FetchError(f"{target.dest}: cannot write {dest} ({err.strerror or err})") from None


def _fetch_into(target: Target, dest: Path, urls: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest.parent) as work:
        parts = [_download(u, target.dest, Path(work)) for u in urls]
        if target.convert is None:
            final = parts[0]
        else:
            try:
                data = target.convert(parts)
            except Exception as err:  # noqa: BLE001 - a corrupted or changed upstream file
                raise ChecksumError(f"{target.dest}: cannot convert the download ({type(err).__name__}: "
                                    f"{str(err).splitlines()[0] if str(err) else ''}) "
                                    f"(source: {', '.join(urls)})") from None
            final = Path(work) / "converted"
            final.write_bytes(data)
        digest = _sha256(final)
        if digest != target.sha256:
            raise ChecksumError(f"{target.dest}: SHA-256 {digest[:12]}... does not match the pinned "
                                f"{target.sha256[:12]}... (source: {', '.join(urls)})")
        os.chmod(final, 0o644)
        os.replace(final, dest)  # same folder: atomic
    return "fetched"


def fetch(
    data_dir: str | Path | None = None,
    names: Sequence[str] | None = None,
    *,
    hub_url: str | None = None,
    github_url: str | None = None,
    workers: int = WORKERS,
    log: Callable[[str], None] | None = None,
) -> dict[str, dict[str, int]]:
    """Download the corpora ``names`` (default all) into ``data_dir`` (default :func:`default_data_dir`).

    Args:
        data_dir: the folder that gets ``mbpp/``, ``conala/``, ``xlcost/``, ``transcoder_gfg/``, ``django/``.
        names: corpus names among :data:`CORPUS_NAMES`.
        hub_url, github_url: base URLs (default: ``$CODEGEN_HUB_URL`` / ``$HF_ENDPOINT`` / huggingface.co and
            ``$CODEGEN_GITHUB_RAW_URL`` / raw.githubusercontent.com).
        log: called with one line per corpus (None: silent).

    Returns:
        ``{name: {"files": n, "fetched": k, "ok": n - k}}``.

    Raises:
        ChecksumError, NetworkError, FetchError (see the module docstring); the first failure stops the
        corpus, and nothing half-written is left at any destination.
    """
    hub_url = hub_url or os.environ.get(HUB_URL_ENV) or os.environ.get("HF_ENDPOINT") or DEFAULT_HUB_URL
    github_url = github_url or os.environ.get(GITHUB_URL_ENV) or DEFAULT_GITHUB_URL
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    targets = plan(names)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FetchError(f"cannot create the data dir {root}: {err.strerror or err}") from None
    by_name: dict[str, list[Target]] = {}
    folder_to_name = {s.folder: s.name for s in SOURCES}
    for t in targets:
        by_name.setdefault(folder_to_name[t.dest.split("/", 1)[0]], []).append(t)
    summary = {}
    for name, group in by_name.items():
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(_write_target, t, root, hub_url, github_url) for t in group]
            results = []
            error: BaseException | None = None
            for fut in futures:
                try:
                    results.append(fut.result())
                except BaseException as err:  # noqa: BLE001 - keep the first, let the rest finish cleanly
                    error = error or err
            if error is not None:
                raise error
        fetched = results.count("fetched")
        summary[name] = {"files": len(group), "fetched": fetched, "ok": len(group) - fetched}
        if log is not None:
            home = next(s.home for s in SOURCES if s.name == name)
            log(f"{name}: {len(group)} file(s) verified ({fetched} downloaded) from {home}")
    return summary


# ----------------------------------------------------------------------------------------------------------------
# Command line (``codegen data fetch``; the parser lives in codegen_lib.cli)
# ----------------------------------------------------------------------------------------------------------------
FETCH_DESCRIPTION = (
    "Download MBPP and CoNaLa train (Hugging Face hub), XLCoST, TransCoder GfG and Django (GitHub) at pinned "
    "revisions into DATA_DIR, in the layout load_corpus(..., data_dir=DATA_DIR/<folder>) reads; every file is "
    "checked against a pinned SHA-256 and written atomically. Exit codes: 0 done, 1 checksum mismatch or "
    "unconvertible file, 2 bad arguments, 3 network failure. Base URLs: $CODEGEN_HUB_URL, "
    "$CODEGEN_GITHUB_RAW_URL."
)


def add_fetch_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``codegen data fetch``."""
    parser.add_argument("--data-dir", default=None,
                        help="where to write (default: $CODEGEN_SHARED_DATA/raw, else ../shared/data/raw "
                             "beside the repository, where the chapters look)")
    parser.add_argument("--only", nargs="+", choices=CORPUS_NAMES, default=None, metavar="NAME",
                        help=f"fetch only these corpora ({', '.join(CORPUS_NAMES)}); default: all")


def run_fetch(args: argparse.Namespace) -> int:
    """Run ``codegen data fetch``; prints one line per corpus, or one error line; returns the exit code."""
    try:
        fetch(args.data_dir, args.only, log=print)
    except FetchError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    root = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    print(f"data: {root}")
    return EXIT_OK
