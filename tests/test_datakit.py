"""The classroom data kit against a loopback server: fetch, resume, captive portal, check."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest
from test_data import tiny_cats_and_dogs_zip, tiny_mnist_bytes

from cnnbook import data, datakit
from cnnbook.__main__ import main

PORTAL_PAGE = b"<!DOCTYPE html><html><body>Please log in to the guest Wi-Fi</body></html>"


class KitServer:
    """Serves named payloads with HTTP Range; can cut a body short or act as a captive portal."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut_after: int | None = None  # send this many bytes of the next body, then close
        self.portal = False  # answer every request with a login page
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the name http.server asks for)
                server.requests.append((self.path, self.headers.get("Range")))
                if server.portal:
                    return self._send(200, PORTAL_PAGE, "text/html; charset=utf-8")
                body = server.files.get(self.path.lstrip("/"))
                if body is None:
                    return self._send(404, b"not found", "text/plain")
                start = 0
                asked = self.headers.get("Range")
                if asked and asked.startswith("bytes="):
                    start = int(asked[len("bytes=") :].split("-")[0])
                    if start >= len(body):
                        return self._send(416, b"", "text/plain")
                self.send_response(206 if start else 200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                rest = body[start:]
                if server.cut_after is not None:
                    rest, server.cut_after = rest[: server.cut_after], None
                    self.wfile.write(rest)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(rest)

            def _send(self, code, body, content_type):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def kit_server(monkeypatch):
    """A server holding a tiny MNIST and a tiny cats-and-dogs zip, wired into the registry."""
    server = KitServer()
    mnist = tiny_mnist_bytes()
    photos = tiny_cats_and_dogs_zip(data.kittens_path())
    server.files = {"mnist.npz": mnist, "cats_and_dogs_filtered.zip": photos}
    sha = hashlib.sha256(mnist).hexdigest()
    monkeypatch.setitem(
        data.REMOTES, "mnist", data.Remote(server.url("mnist.npz"), "mnist.npz", sha)
    )
    monkeypatch.setitem(
        data.REMOTES,
        "cats_and_dogs",
        data.Remote(server.url("cats_and_dogs_filtered.zip"), "cats_and_dogs_filtered.zip", None),
    )
    monkeypatch.setattr(datakit, "CATS_AND_DOGS_COUNTS", {"train": 1, "validation": 1})
    # the tiny MNIST has 6 + 2 digits
    monkeypatch.setattr(
        datakit,
        "MNIST_SHAPES",
        {"x_train": (6, 28, 28), "y_train": (6,), "x_test": (2, 28, 28), "y_test": (2,)},
    )
    yield server
    server.close()


def states(statuses) -> dict[str, str]:
    return {s.name: s.state for s in statuses}


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_fetch_lays_out_everything_the_labs_read_and_check_agrees(
    kit_server, tmp_path, monkeypatch
):
    kit = tmp_path / "kit"
    assert main(["data", "fetch", str(kit), "--no-progress"]) == 0
    assert (kit / "mnist.npz").read_bytes() == kit_server.files["mnist.npz"]
    assert (kit / "cats_and_dogs" / "train" / "cats" / "cat.1.jpg").exists()
    assert data.sha256_of(kit / "kittens.jpg") == data.KITTENS_SHA256
    assert not list(kit.rglob("*.part"))
    assert states(datakit.check(kit)) == {
        "mnist": "present",
        "cats_and_dogs": "present",
        "kittens": "present",
    }
    # the labs read the kit through CNNBOOK_DATA
    monkeypatch.setenv(data.DATA_ENV, str(kit))
    (x_train, _), _ = data.load_mnist()
    assert x_train.shape == (6, 28, 28)
    assert data.cats_and_dogs_dir() == kit / "cats_and_dogs"
    # a second fetch downloads nothing
    before = len(kit_server.requests)
    assert main(["data", "fetch", str(kit), "--no-progress"]) == 0
    assert len(kit_server.requests) == before


def test_an_interrupted_download_resumes_where_it_stopped(kit_server, tmp_path, capsys):
    kit = tmp_path / "kit"
    payload = kit_server.files["mnist.npz"]
    kit_server.cut_after = len(payload) // 3
    assert main(["data", "fetch", str(kit), "--no-progress"]) == 1
    message = capsys.readouterr().err
    assert "interrupted" in message and "again to resume" in message
    part = kit / datakit.DOWNLOADS / "mnist.npz.part"
    assert part.read_bytes() == payload[: len(payload) // 3]  # kept, and only what arrived
    assert not (kit / "mnist.npz").exists()  # nothing half-made in place

    assert main(["data", "fetch", str(kit), "--no-progress"]) == 0
    assert (kit / "mnist.npz").read_bytes() == payload
    mnist_requests = [r for r in kit_server.requests if r[0] == "/mnist.npz"]
    assert mnist_requests[-1][1] == f"bytes={len(payload) // 3}-"  # asked only for the rest
    assert not part.exists()


def test_a_captive_portal_page_is_refused_and_nothing_is_kept(kit_server, tmp_path, capsys):
    kit = tmp_path / "kit"
    kit_server.portal = True
    assert main(["data", "fetch", str(kit), "--no-progress"]) == 1
    message = capsys.readouterr().err
    assert "web page" in message and "captive portal" in message
    assert not (kit / "mnist.npz").exists() and not list(kit.rglob("*.part"))
    assert not (kit / "cats_and_dogs").exists()


def test_a_portal_page_sent_as_octet_stream_is_caught_too(kit_server, tmp_path):
    """Some portals lie about the type: the bytes themselves are looked at."""
    kit = tmp_path / "kit"
    kit_server.files["cats_and_dogs_filtered.zip"] = PORTAL_PAGE
    (kit / "mnist.npz").parent.mkdir(parents=True)
    (kit / "mnist.npz").write_bytes(kit_server.files["mnist.npz"])
    statuses = None
    with pytest.raises(datakit.DownloadError, match="web page"):
        statuses = datakit.fetch(kit, progress=False)
    assert statuses is None and not (kit / "cats_and_dogs").exists()
    assert not list((kit / datakit.DOWNLOADS).iterdir())


def test_a_wrong_checksum_keeps_nothing(kit_server, tmp_path, monkeypatch):
    kit = tmp_path / "kit"
    remote = data.REMOTES["mnist"]
    monkeypatch.setitem(data.REMOTES, "mnist", data.Remote(remote.url, remote.filename, "0" * 64))
    with pytest.raises(data.DataIntegrityError, match="not kept"):
        datakit.fetch(kit, progress=False)
    assert not (kit / "mnist.npz").exists() and not list(kit.rglob("*.part"))


def test_check_reports_missing_and_damaged_and_changes_nothing(kit_server, tmp_path, capsys):
    kit = tmp_path / "kit"
    datakit.fetch(kit, progress=False)
    (kit / "mnist.npz").write_bytes(b"not an npz file")  # damaged
    photo = kit / "cats_and_dogs" / "validation" / "dogs" / "dog.1.jpg"
    photo.write_bytes(photo.read_bytes()[:100])  # cut short after fetch: the manifest knows
    (kit / "kittens.jpg").unlink()  # missing
    before = snapshot(kit)
    assert main(["data", "check", str(kit)]) == 1
    out = capsys.readouterr().out
    assert states(datakit.check(kit)) == {
        "mnist": "damaged",
        "cats_and_dogs": "damaged",
        "kittens": "missing",
    }
    assert "dog.1.jpg changed since it was fetched" in out
    assert snapshot(kit) == before  # check changed nothing

    # fetch does not overwrite the damaged file: it says so and leaves it
    assert main(["data", "fetch", str(kit), "--no-progress"]) == 1
    assert (kit / "mnist.npz").read_bytes() == b"not an npz file"
    assert "left as it is" in capsys.readouterr().out
    assert (kit / "kittens.jpg").exists()  # but the missing one is laid out


def test_check_of_a_folder_laid_out_by_hand(data_root):
    """shared/data was laid out by hand: MNIST's arrays and the 3,000 photos are recognised."""
    found = {s.name: s for s in datakit.check(data_root)}
    assert found["mnist"].state == "present" and found["cats_and_dogs"].state == "present"


def test_registered_files_join_the_kit(kit_server, tmp_path, monkeypatch):
    weights = b"pretend weights" * 100
    kit_server.files["rung.weights.h5"] = weights
    monkeypatch.setattr(datakit, "_REGISTERED", [])
    monkeypatch.setattr(datakit, "PROVIDERS", ("json",))  # imported before listing
    datakit.register(
        datakit.KitFile(
            "rung_weights",
            "weights/rung.weights.h5",
            kit_server.url("rung.weights.h5"),
            hashlib.sha256(weights).hexdigest(),
        )
    )
    with pytest.raises(ValueError, match="already"):
        datakit.register(datakit.registered()[0])
    with pytest.raises(ValueError, match="sha256"):
        datakit.register(datakit.KitFile("bad", "x", "http://x", "abc"))
    kit = tmp_path / "kit"
    assert states(datakit.fetch(kit, progress=False))["rung_weights"] == "present"
    assert (kit / "weights" / "rung.weights.h5").read_bytes() == weights
    manifest = json.loads((kit / datakit.MANIFEST).read_text())
    assert "cats_and_dogs/train/cats/cat.1.jpg" in manifest["sha256"]


def test_a_damaged_archive_is_not_kept_and_the_next_fetch_starts_over(kit_server, tmp_path):
    kit = tmp_path / "kit"
    good = kit_server.files["cats_and_dogs_filtered.zip"]
    kit_server.files["cats_and_dogs_filtered.zip"] = good[: len(good) // 2] + b"\0" * 64
    with pytest.raises(data.DataIntegrityError, match="not kept"):
        datakit.fetch(kit, progress=False)
    assert not (kit / "cats_and_dogs").exists()
    assert not list((kit / datakit.DOWNLOADS).glob("cats_and_dogs_filtered.zip*"))
    kit_server.files["cats_and_dogs_filtered.zip"] = good
    assert states(datakit.fetch(kit, progress=False))["cats_and_dogs"] == "present"
