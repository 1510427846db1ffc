"""``codegen data fetch`` (codegen_lib.datafetch) against a local HTTP server on 127.0.0.1.

The server serves copies of ../shared/data/raw, made in a temporary folder at test time (never in the
repository), at each source's real URL layout: the hub's ``datasets/<repo>/resolve/<revision>/<path>`` (MBPP and
CoNaLa as parquet files in the hub's schema, built here from the release files) and GitHub's
``<owner>/<repo>/<commit>/<path>``. Tests that need ../shared skip without it, except under ``CI=true``, where
its absence is a failure. The error-path tests use small synthetic files and run everywhere.
"""

from __future__ import annotations

import filecmp
import hashlib
import os
import socket
from pathlib import Path
from urllib.parse import unquote

import pytest
from fake_sources import FakeServer, place, serve_shared

from codegen_lib import datafetch
from codegen_lib.datafetch import ChecksumError, FetchError, NetworkError

REPO = Path(__file__).resolve().parents[1]
SHARED_RAW = Path(os.environ.get("CODEGEN_SHARED_DATA", REPO.parent / "shared" / "data")) / "raw"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def shared_raw() -> Path:
    """../shared/data/raw with every pinned file; skips without it (fails under CI=true)."""
    missing = [d for d in datafetch.load_pins() if not (SHARED_RAW / d).is_file()]
    if missing:
        why = f"{len(missing)} pinned file(s) missing under {SHARED_RAW} (e.g. {missing[0]})"
        if IN_CI:
            pytest.fail(f"CI must have ../shared/data/raw: {why}")
        pytest.skip(why)
    return SHARED_RAW


@pytest.fixture(scope="module")
def server(shared_raw, tmp_path_factory):
    srv = FakeServer(tmp_path_factory.mktemp("fake_sources"))
    serve_shared(srv.root, shared_raw)
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def fetched(server, tmp_path_factory):
    """One full fetch from the fake server into a temporary data dir: ``(data dir, requested paths)``."""
    out = tmp_path_factory.mktemp("fetched") / "raw"
    del server.requests[:]
    lines = []
    summary = datafetch.fetch(out, hub_url=server.hub, github_url=server.github, log=lines.append)
    return out, list(server.requests), summary, lines


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.startswith((".part-", ".fetch-"))]


# ----------------------------------------------------------------------------------------------------------------
# The plan
# ----------------------------------------------------------------------------------------------------------------
def test_plan_has_every_corpus_at_pinned_revisions_and_no_conala_test():
    targets = datafetch.plan()
    by_folder = {}
    for t in targets:
        by_folder.setdefault(t.dest.split("/")[0], []).append(t)
    assert sorted(by_folder) == ["conala", "django", "mbpp", "transcoder_gfg", "xlcost"]
    assert [t.dest for t in by_folder["mbpp"]] == ["mbpp/mbpp.jsonl"]
    assert len(by_folder["mbpp"][0].downloads) == 4 and by_folder["mbpp"][0].convert is not None
    assert len(by_folder["transcoder_gfg"]) == 703  # 702 harnesses + LICENSE
    assert sorted(t.dest for t in by_folder["django"]) == [
        "django/LICENSE", "django/README.md", "django/all.anno", "django/all.code"]
    for t in targets:
        assert len(t.sha256) == 64 and int(t.sha256, 16) >= 0
        for d in t.downloads:
            parts = d.path.split("/")
            if d.host == "hub":  # datasets/<owner>/<name>/resolve/<revision>/<path>
                assert parts[0] == "datasets" and parts[3] == "resolve", d.path
            else:  # <owner>/<repo>/<40-hex commit>/<path>
                assert len(parts[2]) == 40 and int(parts[2], 16) >= 0, d.path
    mbpp_rev = by_folder["mbpp"][0].downloads[0].path.split("/")[4]
    assert len(mbpp_rev) == 40  # a commit, not a branch
    assert all("test" not in d.path for t in by_folder["conala"] for d in t.downloads)


def test_plan_builds_the_real_urls(monkeypatch):
    monkeypatch.delenv(datafetch.HUB_URL_ENV, raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    urls = {d.url(datafetch.DEFAULT_HUB_URL, datafetch.DEFAULT_GITHUB_URL)
            for t in datafetch.plan() for d in t.downloads}
    hf, gh = "https://huggingface.co/datasets", "https://raw.githubusercontent.com"
    expected = [
        f"{hf}/google-research-datasets/mbpp/resolve/7bc94ee8bd8f4b07324968e85b7b54f505cba1e5/"
        "full/test-00000-of-00001.parquet",
        f"{hf}/neulab/conala/resolve/refs%2Fconvert%2Fparquet/curated/train/0000.parquet",
        f"{gh}/jpan999/py-assistant/b964333721f2a3d1b9eadc65d64bfa5f19391fb5/limited%20setting%20llm/"
        "datasets_summarization/pair_data_tok_full_desc/Python-desc/test-Python-desc-tok.py",
        f"{gh}/facebookresearch/CodeGen/e3e8855c4abbd7d19c8fec36b49d7e7fe7479dbf/"
        "data/transcoder_evaluation_gfg/python/BINARY_SEARCH.py",
        f"{gh}/facebookresearch/CodeGen/e3e8855c4abbd7d19c8fec36b49d7e7fe7479dbf/"
        "data/transcoder_evaluation_gfg/LICENSE",
        f"{gh}/odashi/ase15-django-dataset/c37fa281ced0de16aa7868415522905f8380686e/django/all.code",
        f"{gh}/odashi/ase15-django-dataset/c37fa281ced0de16aa7868415522905f8380686e/LICENSE",
    ]
    for url in expected:
        assert url in urls, url
    assert len(urls) == 4 + 1 + 22 + 703 + 4


def test_plan_rejects_unknown_corpus():
    with pytest.raises(FetchError, match="unknown corpus 'nope'"):
        datafetch.plan(["nope"])


def test_a_conala_test_url_is_refused(monkeypatch):
    from codegen_lib.corpora import conala

    monkeypatch.setitem(conala.CONALA_HUB, "files", {"train": "curated/test/0000.parquet"})
    with pytest.raises(FetchError, match="CoNaLa test-split"):
        datafetch.plan(["conala"])


# ----------------------------------------------------------------------------------------------------------------
# A full fetch from the fake sources
# ----------------------------------------------------------------------------------------------------------------
def test_fetch_requests_exactly_the_pinned_urls(fetched, server):
    _, requested, summary, lines = fetched
    expected = sorted(
        "/" + ("hf" if d.host == "hub" else "gh") + "/" + unquote(d.path)
        for t in datafetch.plan() for d in t.downloads
    )
    assert sorted(requested) == expected  # each once, nothing else
    assert not [p for p in requested if "conala" in p and "test" in p]
    assert {k: v["files"] for k, v in summary.items()} == {
        "mbpp": 1, "conala": 1, "xlcost": 22, "gfg": 703, "django": 4}
    assert all(v["fetched"] == v["files"] for v in summary.values())
    assert len(lines) == 5 and all("verified" in x for x in lines)


def test_fetched_files_equal_the_shared_copies_and_their_pins(fetched, shared_raw):
    out, *_ = fetched
    pins = datafetch.load_pins()
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(pins)  # nothing else, no temporary files
    for dest, digest in pins.items():
        assert hashlib.sha256((out / dest).read_bytes()).hexdigest() == digest, dest
        assert filecmp.cmp(out / dest, shared_raw / dest, shallow=False), dest
    # the converted files too: the hub's parquet rows give back the release files byte for byte
    assert (out / "mbpp" / "mbpp.jsonl").read_bytes() == (shared_raw / "mbpp" / "mbpp.jsonl").read_bytes()


def test_a_second_fetch_downloads_nothing(fetched, server):
    out, *_ = fetched
    del server.requests[:]
    summary = datafetch.fetch(out, hub_url=server.hub, github_url=server.github)
    assert server.requests == []
    assert all(v["fetched"] == 0 and v["ok"] == v["files"] for v in summary.values())


def test_fetched_corpora_load_with_the_same_row_counts(fetched, shared_raw):
    from codegen_lib.corpora import gfg
    from codegen_lib.corpora.gfg import xlcost_titles
    from codegen_lib.data import MalformedRowReport, load_corpus

    out, *_ = fetched

    def counts(raw: Path) -> dict:
        sizes = {}
        for name, folder in (("mbpp", "mbpp"), ("conala", "conala"), ("django", "django")):
            dd = load_corpus(name, data_dir=raw / folder)
            sizes[name] = {s: len(dd[s]) for s in dd}
        dd = load_corpus("xlcost", data_dir=raw / "xlcost", splits=("validation", "test"))
        sizes["xlcost"] = {s: len(dd[s]) for s in dd}
        rows, _ = gfg.gfg_rows(raw / "transcoder_gfg", MalformedRowReport("gfg"),
                               xlcost_titles=xlcost_titles(raw / "xlcost"), check=False)
        sizes["gfg"] = {s: len(v) for s, v in rows.items()}
        return sizes

    got = counts(out)
    assert got == counts(shared_raw)
    assert sum(got["mbpp"].values()) == 974 and sum(got["django"].values()) == 18805
    assert got["xlcost"] == {"validation": 472, "test": 887}


def test_default_data_dir_is_where_the_chapters_look(server, tmp_path, monkeypatch):
    from codegen_lib.data import shared_data_dir

    monkeypatch.setenv("CODEGEN_SHARED_DATA", str(tmp_path / "data"))
    monkeypatch.setenv(datafetch.HUB_URL_ENV, server.hub)
    monkeypatch.setenv(datafetch.GITHUB_URL_ENV, server.github)
    assert shared_data_dir() is None  # nothing there yet
    datafetch.fetch(names=["django"])  # default data dir, base URLs from the environment
    assert datafetch.default_data_dir() == tmp_path / "data" / "raw"
    assert shared_data_dir() == tmp_path / "data" / "raw"
    assert (shared_data_dir() / "django" / "all.code").is_file()


def test_cli_fetch_exit_codes(server, tmp_path, monkeypatch, capsys):
    from codegen_lib.cli import main

    monkeypatch.setenv(datafetch.HUB_URL_ENV, server.hub)
    monkeypatch.setenv(datafetch.GITHUB_URL_ENV, server.github)
    assert main(["data", "fetch", "--data-dir", str(tmp_path / "raw"), "--only", "django", "conala"]) == 0
    out = capsys.readouterr().out
    assert "django: 4 file(s) verified" in out and "conala: 1 file(s) verified" in out
    assert (tmp_path / "raw" / "conala" / "conala-train.json").is_file()
    monkeypatch.setenv(datafetch.GITHUB_URL_ENV, f"http://127.0.0.1:{_closed_port()}/gh")
    assert main(["data", "fetch", "--data-dir", str(tmp_path / "other"), "--only", "django"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: django/")
    with pytest.raises(SystemExit) as info:
        main(["data", "fetch", "--only", "nope"])
    assert info.value.code == 2


# ----------------------------------------------------------------------------------------------------------------
# Failures: synthetic files (no ../shared needed), pinned by monkeypatching the pins file
# ----------------------------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_django(tmp_path, monkeypatch):
    """A fake server publishing two small Django files, and pins for them: ``(server, data dir)``."""
    files = {"django/all.anno": b"import module warnings.\n", "django/all.code": b"import warnings\n"}
    pins_file = tmp_path / "pins.sha256"
    pins_file.write_text("".join(f"{hashlib.sha256(b).hexdigest()}  {d}\n" for d, b in files.items()))
    monkeypatch.setattr(datafetch, "PINS_FILE", pins_file)
    srv = FakeServer(tmp_path / "served")
    for t in datafetch.plan(["django"]):
        place(srv.root, t.downloads[0]).write_bytes(files[t.dest])
    yield srv, tmp_path / "raw"
    srv.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the with-block ends: nothing listens there


def test_synthetic_fetch_succeeds(tiny_django):
    srv, out = tiny_django
    datafetch.fetch(out, ["django"], hub_url=srv.hub, github_url=srv.github)
    assert (out / "django" / "all.code").read_bytes() == b"import warnings\n"
    assert _leftovers(out) == []


def test_a_corrupted_file_is_refused_and_nothing_is_written(tiny_django):
    srv, out = tiny_django
    target = next(t for t in datafetch.plan(["django"]) if t.dest == "django/all.code")
    place(srv.root, target.downloads[0]).write_bytes(b"import warnings  # tampered\n")
    with pytest.raises(ChecksumError) as info:
        datafetch.fetch(out, ["django"], hub_url=srv.hub, github_url=srv.github, workers=1)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("django/all.code: SHA-256")
    assert target.downloads[0].url(srv.hub, srv.github) in msg  # names the source
    assert info.value.exit_code == 1
    assert not (out / "django" / "all.code").exists()
    assert _leftovers(out) == []


def test_a_file_changed_in_place_is_fetched_again(tiny_django):
    srv, out = tiny_django
    datafetch.fetch(out, ["django"], hub_url=srv.hub, github_url=srv.github)
    (out / "django" / "all.code").write_bytes(b"edited\n")
    del srv.requests[:]
    summary = datafetch.fetch(out, ["django"], hub_url=srv.hub, github_url=srv.github)
    assert summary["django"]["fetched"] == 1 and len(srv.requests) == 1
    assert (out / "django" / "all.code").read_bytes() == b"import warnings\n"


def test_an_interrupted_download_leaves_nothing(tiny_django):
    srv, out = tiny_django
    target = next(t for t in datafetch.plan(["django"]) if t.dest == "django/all.anno")
    srv.httpd.cut.add("/gh/" + unquote(target.downloads[0].path))
    with pytest.raises(NetworkError) as info:
        datafetch.fetch(out, ["django"], hub_url=srv.hub, github_url=srv.github, workers=1)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("django/all.anno: download interrupted")
    assert "(source: http://127.0.0.1:" in msg and info.value.exit_code == 3
    assert not (out / "django" / "all.anno").exists()
    assert _leftovers(out) == []


def test_an_unreachable_host_gives_a_one_line_error(tiny_django):
    _, out = tiny_django
    dead = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(NetworkError) as info:
        datafetch.fetch(out, ["django"], hub_url=dead, github_url=dead, workers=1)
    msg = str(info.value)
    assert "\n" not in msg and "cannot download" in msg and dead in msg
    assert msg.split(":")[0] in ("django/all.anno", "django/all.code")
    assert not (out / "django" / "all.anno").exists() and not (out / "django" / "all.code").exists()


def test_a_corrupted_parquet_is_refused(tmp_path, monkeypatch):
    pins_file = tmp_path / "pins.sha256"
    pins_file.write_text(f"{'0' * 64}  conala/conala-train.json\n")
    monkeypatch.setattr(datafetch, "PINS_FILE", pins_file)
    srv = FakeServer(tmp_path / "served")
    try:
        (dl,) = datafetch.plan(["conala"])[0].downloads
        place(srv.root, dl).write_bytes(b"PAR1 this is not a parquet file")
        with pytest.raises(ChecksumError, match=r"^conala/conala-train.json: cannot convert the download"):
            datafetch.fetch(tmp_path / "raw", ["conala"], hub_url=srv.hub, github_url=srv.github)
        assert not (tmp_path / "raw" / "conala" / "conala-train.json").exists()
        assert _leftovers(tmp_path / "raw") == []
    finally:
        srv.close()


def test_an_unwritable_data_dir_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FetchError) as info:
        datafetch.fetch(blocker / "raw", ["django"])
    assert type(info.value) is FetchError and info.value.exit_code == 2
    assert "cannot create the data dir" in str(info.value)


# ----------------------------------------------------------------------------------------------------------------
# The Pages workflow and the README
# ----------------------------------------------------------------------------------------------------------------
def test_pages_workflow_installs_bubblewrap_and_fetches_before_the_build():
    yaml = pytest.importorskip("yaml")
    text = (REPO / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8")
    runs = [step.get("run", "") for step in yaml.safe_load(text)["jobs"]["build"]["steps"]]
    install = next(i for i, r in enumerate(runs) if "apt-get install -y -q bubblewrap" in r)
    fetch = next(i for i, r in enumerate(runs) if "codegen data fetch" in r)
    build = runs.index("bash scripts/build_book.sh")
    assert install < fetch < build
    assert "apparmor_restrict_unprivileged_userns=0" in runs[install]
    comments = "\n".join(x for x in text.splitlines() if x.lstrip().startswith("#"))
    assert "AppArmor" in comments and "actions/runner-images#10443" in comments  # says whether, and cites


def test_readme_names_bubblewrap_and_documents_the_fetch_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    prereq = readme.split("## Prerequisites", 1)[1].split("\n## ", 1)[0]
    assert "bubblewrap" in prereq and "skip" in prereq
    assert "codegen data fetch" in readme and datafetch.HUB_URL_ENV in readme and datafetch.GITHUB_URL_ENV in readme


def test_a_data_dir_that_cannot_hold_a_corpus_folder_is_a_one_line_usage_error(tiny_django):
    srv, out = tiny_django
    out.mkdir()
    (out / "django").write_text("a file where the folder should be")
    with pytest.raises(FetchError) as info:
        datafetch.fetch(out, ["django"], hub_url=srv.hub, github_url=srv.github, workers=1)
    assert type(info.value) is FetchError and info.value.exit_code == 2
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("django/all.") and "cannot write" in msg
    assert srv.requests == []  # nothing downloaded for a destination that cannot be written
