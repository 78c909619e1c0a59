"""Helpers of the data tests: the source package, the data scripts, a
loopback HTTP server and a small fixture of the real COCO archive."""

import importlib.util
import io
import json
import re
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5py
import numpy as np

from conftest import ROOT, SOURCE, load_captioning

SYNTHETIC = SOURCE / "datasets" / "synthetic_coco"
DATA_SCRIPTS = ROOT / "data_scripts"


def source_module(name):
    """A module of source/'s captioning package, e.g. source_module('coco_utils')."""
    load_captioning(SOURCE, "source_captioning")
    return importlib.import_module(f"source_captioning.{name}")


def data_script(name):
    """Import data_scripts/<name>.py as a module."""
    alias = f"data_script_{name}"
    if alias not in sys.modules:
        spec = importlib.util.spec_from_file_location(alias, DATA_SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[alias] = module
        spec.loader.exec_module(module)
    return sys.modules[alias]


# ------------------------------------------------------------- HTTP server


class Served:
    """What the server answers for one path.

    - body: the bytes
    - ranges: honour Range requests (206); else always answer 200 in full
    - cut_after / cuts: for the first `cuts` requests, close the connection
      after sending cut_after bytes of the body
    - delay: seconds to wait before answering
    - status: an error status to answer instead (e.g. 404)
    """

    def __init__(self, body=b"", ranges=True, cut_after=None, cuts=0, delay=0, status=200):
        self.body, self.ranges, self.delay, self.status = body, ranges, delay, status
        self.cut_after, self.cuts = cut_after, cuts


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        owner = self.server.owner
        owner.requests.append((self.path, dict(self.headers)))
        served = owner.files.get(self.path)
        if served is None or served.status != 200:
            self.send_error(404 if served is None else served.status)
            return
        if served.delay:
            time.sleep(served.delay)
        body, start, status = served.body, 0, 200
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and served.ranges:
            start, status = int(match.group(1)), 206
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        payload = body[start:]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        if served.cuts > 0 and served.cut_after is not None:
            served.cuts -= 1
            payload = payload[: served.cut_after]
            self.close_connection = True
        self.wfile.write(payload)
        self.wfile.flush()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up early is part of the tests


class LocalServer:
    """An HTTP server on 127.0.0.1 in a thread; use as a context manager.

    files maps a path ('/coco.zip') to a Served; requests records
    (path, headers) of every request.
    """

    def __init__(self):
        self.files = {}
        self.requests = []
        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path):
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def closed_port_url(path="/x.png"):
    """A loopback URL on which nothing listens."""
    with ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as httpd:
        port = httpd.server_address[1]
    return f"http://127.0.0.1:{port}{path}"


# ------------------------------------------------------ fixture archive


def write_fixture_data(target, fc7_columns=4096, seed=0):
    """Write a small copy of the real data's files (same keys, dtypes,
    column counts, special tokens; few rows) into the directory target."""
    rng = np.random.default_rng(seed)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    idx_to_word = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "on", "mat"]
    vocab = {"idx_to_word": idx_to_word, "word_to_idx": {w: i for i, w in enumerate(idx_to_word)}}
    (target / "coco2014_vocab.json").write_text(json.dumps(vocab))
    images = {"train": 6, "val": 4}
    with h5py.File(target / "coco2014_captions.h5", "w") as f:
        for split, n in images.items():
            captions = np.zeros((3 * n, 17), dtype=np.int32)
            captions[:, :6] = [1, 4, 5, 6, 7, 2]
            f[f"{split}_captions"] = captions
            f[f"{split}_image_idxs"] = np.repeat(np.arange(n, dtype=np.int32), 3)
    for split, n in images.items():
        for suffix, columns in (("", fc7_columns), ("_pca", 512)):
            with h5py.File(target / f"{split}2014_vgg16_fc7{suffix}.h5", "w") as f:
                f["features"] = rng.random((n, columns), dtype=np.float32)
        lines = "".join(f"http://example.invalid/{split}/{i}.jpg\n" for i in range(n))
        (target / f"{split}2014_urls.txt").write_text(lines)


def fixture_zip(tmp_path, layout="folder", drop=(), **data_options):
    """Bytes of a zip archive of the fixture data.

    - layout: 'folder' (members under coco_captioning/, like the real
      archive) or 'flat'
    - drop: names of files to leave out
    """
    data_dir = Path(tmp_path) / f"fixture-{layout}-{len(drop)}"
    write_fixture_data(data_dir, **data_options)
    buffer = io.BytesIO()
    prefix = "coco_captioning/" if layout == "folder" else ""
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        if prefix:
            zf.writestr(prefix, "")
        for path in sorted(data_dir.iterdir()):
            if path.name not in drop:
                zf.write(path, prefix + path.name)
    return buffer.getvalue()
