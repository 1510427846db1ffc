"""A fake Hugging Face hub and GitHub on 127.0.0.1 for ``codegen data fetch`` (tests/test_datafetch.py, and any
test that builds a chapter against the real corpora without the network).

    server = FakeServer(tmp_dir)          # serves tmp_dir; server.hub / server.github are the base URLs
    serve_shared(server.root, raw)        # copies of ../shared/data/raw in each source's real URL layout
    env = {"CODEGEN_HUB_URL": server.hub, "CODEGEN_GITHUB_RAW_URL": server.github}
    # then: codegen data fetch --data-dir DIR   (or codegen_lib.datafetch.fetch(DIR, ...))

The copies are made in the given temporary folder at test time, never in the repository.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import socket
import threading
from pathlib import Path
from urllib.parse import unquote

from codegen_lib import datafetch

__all__ = ["FakeServer", "place", "serve_shared"]


# ----------------------------------------------------------------------------------------------------------------
# The fake server
# ----------------------------------------------------------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ``directory``; records every request; cuts the body of paths in ``server.cut`` in half."""

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = unquote(self.path)
        self.server.requests.append(path)
        if path in self.server.cut:
            data = Path(self.translate_path(self.path)).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the server goes away mid-body
            self.close_connection = True
            return
        super().do_GET()


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 serving ``root``; ``hub`` and ``github`` are the two base URLs."""

    def __init__(self, root: Path):
        self.root = root
        handler = functools.partial(_Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []
        self.httpd.cut = set()
        port = self.httpd.server_address[1]
        self.hub = f"http://127.0.0.1:{port}/hf"
        self.github = f"http://127.0.0.1:{port}/gh"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def place(root: Path, download: datafetch.Download) -> Path:
    """The file under ``root`` that the server serves for ``download`` (created folders included)."""
    path = root / ("hf" if download.host == "hub" else "gh") / unquote(download.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_parquet(path: Path, rows: list[dict], schema) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def serve_shared(root: Path, raw: Path) -> None:
    """Lay out copies of ../shared/data/raw under ``root`` as every source publishes them."""
    import pyarrow as pa

    from codegen_lib.corpora.conala import CONALA_HUB
    from codegen_lib.corpora.mbpp import MBPP_HUB, mbpp_split

    for target in datafetch.plan():
        if target.convert is None:
            shutil.copyfile(raw / target.dest, place(root, target.downloads[0]))
    # MBPP: the hub's "full" config, one parquet file per split, columns in the card's order
    records = [json.loads(x) for x in (raw / "mbpp" / "mbpp.jsonl").read_text("utf-8").splitlines()]
    schema = pa.schema([("task_id", pa.int32()), ("text", pa.string()), ("code", pa.string()),
                        ("test_list", pa.list_(pa.string())), ("test_setup_code", pa.string()),
                        ("challenge_test_list", pa.list_(pa.string()))])
    mbpp = datafetch.plan(["mbpp"])[0]
    for split, dl in zip(("train", "validation", "test", "prompt"), mbpp.downloads):
        assert dl.path.endswith(MBPP_HUB["files"][split])
        rows = [r for r in records if mbpp_split(r["task_id"]) == split]
        _write_parquet(place(root, dl), rows, schema)
    # CoNaLa: the hub's parquet conversion of the curated config; a test file is served too, as bait
    conala = json.loads((raw / "conala" / "conala-train.json").read_text("utf-8"))
    schema = pa.schema([("question_id", pa.int64()), ("intent", pa.string()),
                        ("rewritten_intent", pa.string()), ("snippet", pa.string())])
    (dl,) = datafetch.plan(["conala"])[0].downloads
    assert dl.path.endswith(CONALA_HUB["files"]["train"])
    _write_parquet(place(root, dl), conala, schema)
    bait = place(root, datafetch.Download("hub", dl.path.replace("/train/", "/test/")))
    _write_parquet(bait, conala[:5], schema)
