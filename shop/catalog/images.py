"""Product images stored by the shop: fetched once from the catalog's image URLs, kept as
originals on disk, served as thumbnails resized with Pillow.

Layout under :func:`image_root` (``PRODUCT_IMAGE_DIR``, default ``instance/product-images``):
``originals/<key>.jpg`` (the fetched picture, re-encoded as JPEG), ``thumbs/<size>/<key>.jpg``
(made on first request) and ``failed/<key>`` (a URL that could not be fetched, with the
reason, so a second run does not wait for it again unless asked). ``<key>`` is the SKU made
safe for a file name. A product without a stored original keeps its remote URL on the pages,
which fall back to the placeholder when it cannot load (``static/js/images.js``).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, send_file, url_for

#: Thumbnail widths the shop serves, in CSS pixels (cards and lines at 1x and 2x density).
THUMB_SIZES = (96, 320, 640)
#: The largest image accepted from the source, in bytes (Icecat's 500x500 JPEGs are ~50 kB).
MAX_IMAGE_BYTES = 8 * 1024 * 1024
#: Pixels an original is scaled down to fit (a square), so one huge upload cannot fill the disk.
MAX_ORIGINAL_SIDE = 1200


class ImageFetchError(Exception):
    """An image could not be fetched or is not an image; the message says why."""


@dataclass
class FetchReport:
    """What ``fetch_images`` did: counts of products."""

    fetched: int = 0
    skipped: int = 0
    failed: int = 0


def image_root() -> Path:
    """The folder images are kept in (created on first use)."""
    configured = current_app.config.get("PRODUCT_IMAGE_DIR") or os.path.join(
        current_app.instance_path, "product-images"
    )
    return Path(configured)


def image_key(sku: str) -> str:
    """A file name for ``sku``: its safe characters, plus a short hash when any were changed
    (two SKUs never share a file)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", sku or "")[:80]
    if safe != sku or not safe or safe.startswith("."):
        safe = f"{safe}-{hashlib.sha256((sku or '').encode()).hexdigest()[:10]}"
    return safe


def original_path(sku: str) -> Path:
    """Where the original of ``sku``'s image is kept."""
    return image_root() / "originals" / f"{image_key(sku)}.jpg"


def has_image(sku: str) -> bool:
    """Whether the shop holds an image of ``sku``."""
    return original_path(sku).is_file()


def thumbnail_url(sku: str, size: int = 320) -> str | None:
    """The address of ``sku``'s thumbnail at ``size`` px, or None without a stored image."""
    if not sku or not has_image(sku):
        return None
    return url_for("product_image", key=image_key(sku), size=size)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a reader (or a crash) never
    sees half an image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def normalize_image(data: bytes) -> bytes:
    """The picture in ``data`` as an RGB JPEG at most :data:`MAX_ORIGINAL_SIDE` px a side.

    Raises:
        ImageFetchError: ``data`` is not an image Pillow can read.
    """
    # Pillow is imported where pictures are made, not by every web worker at start-up.
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # a truncated or forged file fails here, before decoding
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail((MAX_ORIGINAL_SIDE, MAX_ORIGINAL_SIDE))
            if img.mode != "RGB":
                background = Image.new("RGB", img.size, "white")
                rgba = img.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                img = background
            out = io.BytesIO()
            img.save(out, "JPEG", quality=88, optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageFetchError(f"not an image ({exc.__class__.__name__})") from None


def download(url: str, timeout: float) -> bytes:
    """The body of ``url`` (http or https only), at most :data:`MAX_IMAGE_BYTES`.

    Raises:
        ImageFetchError: another scheme, a network error, a non-200 answer or a body too large.
    """
    if not re.match(r"^https?://", url or "", re.I):
        raise ImageFetchError("no http(s) image URL")
    request = urllib.request.Request(url, headers={"User-Agent": "shop-image-fetch/1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (http(s) checked above)
            if resp.status != 200:
                raise ImageFetchError(f"HTTP {resp.status}")
            body = resp.read(MAX_IMAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ImageFetchError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ImageFetchError(f"unreachable ({reason})") from None
    if len(body) > MAX_IMAGE_BYTES:
        raise ImageFetchError("larger than 8 MiB")
    return body


def fetch_image(sku: str, url: str, timeout: float = 10.0) -> None:
    """Fetch ``url`` and store it as ``sku``'s original (replacing a failure note).

    Raises:
        ImageFetchError: the image could not be fetched or read; nothing is stored, and the
            reason is noted under ``failed/``.
    """
    failed = image_root() / "failed" / image_key(sku)
    try:
        data = normalize_image(download(url, timeout))
    except ImageFetchError as exc:
        _write_atomically(failed, f"{url}\n{exc}\n".encode())
        raise
    _write_atomically(original_path(sku), data)
    failed.unlink(missing_ok=True)


def fetch_images(
    products: Iterable[tuple[str, str]],
    timeout: float = 10.0,
    retry_failed: bool = False,
    on_progress: Callable[[str, str], None] | None = None,
) -> FetchReport:
    """Fetch the images of ``(sku, image URL)`` pairs that the shop does not hold yet.

    Resumable: a product whose original is stored is skipped, and so is one that failed
    before unless ``retry_failed``; an interrupted run continues where it stopped. A failure
    never stops the run (the product keeps its placeholder).

    Args:
        on_progress: called after each product with ``(sku, "fetched" | "skipped" | "failed")``.
    """
    report = FetchReport()
    failed_dir = image_root() / "failed"
    for sku, url in products:
        if has_image(sku) or (not retry_failed and (failed_dir / image_key(sku)).exists()):
            outcome = "skipped"
        else:
            try:
                fetch_image(sku, url, timeout)
                outcome = "fetched"
            except ImageFetchError:
                outcome = "failed"
        setattr(report, outcome, getattr(report, outcome) + 1)
        if on_progress is not None:
            on_progress(sku, outcome)
    return report


def thumbnail_path(key: str, size: int) -> Path | None:
    """The thumbnail at ``size`` px (one of :data:`THUMB_SIZES`) of the image stored under
    ``key`` (:func:`image_key`), made from the original on first use (Pillow, Lanczos,
    aspect kept, fitted into a size x size square); None when no such image is stored.

    Raises:
        ValueError: ``size`` is not served, or ``key`` is not a key :func:`image_key` makes.
    """
    if size not in THUMB_SIZES:
        raise ValueError(f"size must be one of {THUMB_SIZES}")
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", key or ""):
        raise ValueError("not an image key")
    original = image_root() / "originals" / f"{key}.jpg"
    if not original.is_file():
        return None
    thumb = image_root() / "thumbs" / str(size) / original.name
    if not thumb.is_file() or thumb.stat().st_mtime < original.stat().st_mtime:
        from PIL import Image, ImageOps

        with Image.open(original) as img:
            small = ImageOps.contain(img.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            small.save(out, "JPEG", quality=85, optimize=True)
        _write_atomically(thumb, out.getvalue())
    return thumb


def serve_thumbnail(key: str, size: int):
    """GET /images/<key>/<size>.jpg (``key``: :func:`image_key` of the SKU): the thumbnail
    as image/jpeg (cached by browsers for a day); 404 for an unknown size or key, or a
    product without a stored image."""
    try:
        path = thumbnail_path(key, size)
    except ValueError:
        abort(404)
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=86_400)
