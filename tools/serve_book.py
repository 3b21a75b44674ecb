"""Serve the built book on the loopback interface as a static host serves it.

Text (HTML, CSS, JavaScript, JSON) goes out gzip-compressed when the browser asks for
it, as GitHub Pages and most hosts send it; images and fonts are compressed already.
Connections stay open for the next request (HTTP/1.1 keep-alive), as on any host.
The site's tests and the Lighthouse benchmark load the pages through this server, so
the page weights they measure are what a reader downloads.

    python tools/serve_book.py                 # http://127.0.0.1:8000/ -> _build/html
    python tools/serve_book.py --port 0 --folder path/to/html
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import io
import os
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPRESSED_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")


class BookHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, text gzip-compressed when asked, no request log; connections kept
    open between requests (HTTP/1.1), as every host does: a page's dozen files would
    otherwise each pay for a new connection."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test and benchmark output clean
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        kind = self.guess_type(path)
        wants_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (wants_gzip and os.path.isfile(path) and kind.startswith(COMPRESSED_TYPES)):
            return super().send_head()
        with open(path, "rb") as source:
            body = gzip.compress(source.read(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


def start(folder: Path, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``folder`` from a background thread; returns the server and its base URL."""
    if not (Path(folder) / "index.html").exists():
        raise FileNotFoundError(f"{folder} holds no index.html: build the book first")
    handler = functools.partial(BookHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server, url = start(args.folder, args.port)
    print(f"serving {args.folder} at {url} (Ctrl+C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
