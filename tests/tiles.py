"""A loopback XYZ tile server of the tests' own: every /{z}/{x}/{y}.png is a light 256 px tile
with its border and coordinates drawn on it, and every path asked for is recorded."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

TILE = re.compile(r"^/tiles/(\d+)/(\d+)/(\d+)\.png$")


@dataclass
class TileServer:
    template: str  # MAP_TILES_URL
    requested: list[str] = field(default_factory=list)


def tile_png(z: int, x: int, y: int) -> bytes:
    image = Image.new("RGB", (256, 256), (236, 232, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 255, 255], outline=(190, 182, 160), width=2)
    draw.line([(0, 128), (255, 128)], fill=(214, 208, 190))
    draw.line([(128, 0), (128, 255)], fill=(214, 208, 190))
    draw.text((8, 8), f"tile {z}/{x}/{y}", fill=(120, 110, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@contextmanager
def tile_server() -> Iterator[TileServer]:
    """Listening on 127.0.0.1 (a free port) until the block ends."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            requested.append(self.path)
            match = TILE.match(self.path)
            if not match:
                self.send_error(404)
                return
            body = tile_png(*(int(g) for g in match.groups()))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")  # tiles load cross-origin
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="tile-server", daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield TileServer(f"http://127.0.0.1:{port}/tiles/{{z}}/{{x}}/{{y}}.png", requested)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
