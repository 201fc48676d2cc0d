"""Product images: ``flask shop fetch-images`` stores the catalog's pictures locally
(resumable, a progress bar, a failure keeps the placeholder), and the shop serves Pillow
thumbnails of them. The images are made here with Pillow and served by a small HTTP server
on 127.0.0.1; an unreachable source is a port nobody listens on."""

from __future__ import annotations

import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from shop.catalog import images
from tests.factories import make_product, page_text


def _png(width: int, height: int, colour=(200, 30, 30, 255)) -> bytes:
    """A PNG with an alpha channel (the shop re-encodes it as a JPEG on white)."""
    out = io.BytesIO()
    Image.new("RGBA", (width, height), colour).save(out, "PNG")
    return out.getvalue()


class _Source(BaseHTTPRequestHandler):
    """Serves ``files`` by path; counts requests; anything else is a 404."""

    files: dict[str, bytes] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Quiet."""


@pytest.fixture
def source():
    """An image host on a free local port: ``(base URL, handler class)``."""
    _Source.files = {"/wide.png": _png(1000, 500), "/square.png": _png(300, 300, (0, 90, 200, 255))}
    _Source.files["/broken.jpg"] = b"this is not an image"
    _Source.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Source)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Source
    server.shutdown()
    thread.join(5)


def _dead_url() -> str:
    """An address on this machine where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone.jpg"


@pytest.fixture
def image_dir(app, tmp_path):
    """The shop keeps images in a fresh folder for the test."""
    app.config["PRODUCT_IMAGE_DIR"] = str(tmp_path / "images")
    return tmp_path / "images"


def test_fetch_images_stores_thumbnails_and_keeps_the_placeholder_for_failures(
    app, client, db, source, image_dir
):
    base, handler = source
    wide = make_product("Wide monitor", sku="W-1", slug="wide", image_url=f"{base}/wide.png")
    make_product("Square speaker", sku="S/2", slug="square", image_url=f"{base}/square.png")
    make_product("Broken", sku="B-3", slug="broken", image_url=f"{base}/broken.jpg")
    make_product("Offline", sku="O-4", slug="offline", image_url=_dead_url())
    make_product("Missing", sku="M-5", slug="missing", image_url=f"{base}/nothing.jpg")
    db.session.commit()
    before = page_text(client.get("/p/wide"))
    assert f'src="{base}/wide.png"' not in before  # http is shown as https before fetching
    assert "/images/W-1/" not in before

    result = app.test_cli_runner().invoke(args=["shop", "fetch-images", "--timeout", "2"])
    assert result.exit_code == 0, result.output
    assert "2 fetched, 0 already stored or failed before, 3 failed (placeholder kept)" in result.stdout
    assert "Fetching images" in result.stderr  # the progress bar
    originals = sorted(p.name for p in (image_dir / "originals").iterdir())
    assert originals == sorted([images.image_key("W-1") + ".jpg", images.image_key("S/2") + ".jpg"])
    assert images.image_key("S/2") != "S/2" and "/" not in images.image_key("S/2")

    # The pages now show the shop's own thumbnails; the failures keep the remote URL and its
    # placeholder fallback.
    html = page_text(client.get("/p/wide"))
    assert 'src="/images/W-1/640.jpg"' in html
    missing = page_text(client.get("/p/missing"))
    assert "/images/M-5/" not in missing and 'data-fallback="/static/img/placeholder.svg"' in missing
    listing = page_text(client.get("/products"))
    square = images.image_key("S/2")
    assert 'src="/images/W-1/320.jpg"' in listing and f'src="/images/{square}/320.jpg"' in listing
    assert client.get(f"/images/{square}/320.jpg").status_code == 200

    resp = client.get("/images/W-1/320.jpg")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(resp.data)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (320, 160)  # aspect kept, fitted
    with Image.open(io.BytesIO(client.get("/images/W-1/96.jpg").data)) as small:
        assert small.size == (96, 48)
    assert client.get("/images/W-1/500.jpg").status_code == 404  # not a served size
    assert client.get("/images/B-3/320.jpg").status_code == 404  # never stored
    assert client.get("/images/..%2Foriginals%2FW-1/320.jpg").status_code == 404  # not a key
    assert wide.sku == "W-1"


def test_a_second_run_resumes_and_retries_failures_only_when_asked(app, db, source, image_dir):
    base, handler = source
    make_product("Wide", sku="W-1", image_url=f"{base}/wide.png")
    make_product("Later", sku="L-2", image_url=f"{base}/later.png")
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["shop", "fetch-images"])
    assert "1 fetched, 0 already stored or failed before, 1 failed" in first.stdout
    assert sorted(handler.hits) == ["/later.png", "/wide.png"]

    handler.hits.clear()
    handler.files["/later.png"] = _png(640, 640)
    again = runner.invoke(args=["shop", "fetch-images"])
    assert "0 fetched, 2 already stored or failed before, 0 failed" in again.stdout
    assert handler.hits == []  # nothing asked of the source again

    retried = runner.invoke(args=["shop", "fetch-images", "--retry-failed"])
    assert "1 fetched, 1 already stored or failed before, 0 failed" in retried.stdout
    assert handler.hits == ["/later.png"]
    assert images.has_image("L-2") and not (image_dir / "failed" / images.image_key("L-2")).exists()


def test_normalize_refuses_what_is_not_an_image_and_flattens_transparency():
    with pytest.raises(images.ImageFetchError, match="not an image"):
        images.normalize_image(b"GIF89a but not really")
    data = images.normalize_image(_png(2400, 1200, (0, 0, 0, 0)))
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.mode == "RGB" and img.size == (1200, 600)
        assert img.getpixel((10, 10)) == (255, 255, 255)  # transparent became white
