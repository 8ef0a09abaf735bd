"""Avatars with Pillow: decode JPEG, PNG or WebP and re-encode a square JPEG.

The format comes from the bytes, never from a declared type. What an image costs is what
it decodes to, not its file size (a 60 KB PNG can hold 16 million blank pixels), so the
pixel count that would be decoded is checked from the header before anything is: a JPEG is
decoded at the smallest of its 1/2, 1/4 and 1/8 scales that still covers the avatar
(``draft``), and that reduced size is what counts; a PNG or WebP decodes whole. Re-encoding
from pixels drops EXIF (GPS included), ICC profiles, comments and anything else hidden in
the file; the EXIF orientation is applied first so the picture stays upright.

The work runs off the event loop on a small pool of its own (``AVATAR_WORKERS`` threads),
not the default executor that video processing also uses: concurrent uploads queue for a
decoder instead of decoding at once, so the memory they take is bounded by the pool size
times the largest decode.
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageOps

from momentic_core.errors import Invalid, UnsupportedMedia

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
AVATAR_WORKERS = 2  # decodes at once, per process
JPEG_QUALITY = 85
_BACKGROUND = (255, 255, 255)


def _unsupported() -> UnsupportedMedia:
    return UnsupportedMedia(
        "The avatar must be a valid JPEG, PNG or WebP image.", code="unsupported_image"
    )


def _too_large(max_pixels: int) -> Invalid:
    return Invalid(
        f"The avatar may have at most {max_pixels} pixels.",
        code="image_too_large",
        limit=max_pixels,
    )


class PillowImageProcessor:
    """``ImageProcessor`` with Pillow, decoding on ``workers`` threads of its own."""

    def __init__(self, workers: int = AVATAR_WORKERS) -> None:
        self.workers = workers
        # Threads start on the first decode, not here.
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="avatar")

    async def avatar(self, data: bytes, size: int, max_pixels: int) -> bytes:
        """Decode JPEG/PNG/WebP and re-encode a ``size``x``size`` JPEG without metadata.
        ``max_pixels``: the most pixels it may decode to (a JPEG at its reduced scale).

        Raises UnsupportedMedia(code="unsupported_image"), Invalid(code="image_too_large")."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, _avatar, data, size, max_pixels)


def _avatar(data: bytes, size: int, max_pixels: int) -> bytes:
    try:
        # Pillow's own bomb check (Image.MAX_IMAGE_PIXELS) warns on open, or raises past
        # twice its limit; either way the image is too large. Ours follows from the header.
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise _unsupported()
            if image.format == "JPEG":
                # Decode at a reduced scale when the image is much bigger than needed:
                # nothing is decoded yet, and ``size`` becomes the size it will decode to.
                image.draft("RGB", (size, size))
                width, height = image.size
            if width * height > max_pixels:
                raise _too_large(max_pixels)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # UnidentifiedImageError (not an accepted format) is an OSError, as is a truncated
        # file; damaged headers and chunks raise SyntaxError or ValueError.
        raise _unsupported() from exc
    try:
        square = _square(_flatten(upright), size)
    except (OSError, ValueError) as exc:
        raise _unsupported() from exc
    out = io.BytesIO()
    # A fresh image carries no ``info`` (EXIF, ICC, comments) into the encoder.
    clean = Image.new("RGB", square.size)
    clean.paste(square)
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """RGB; transparent parts become white."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode.startswith("I"):  # 16- or 32-bit greyscale PNG
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def _square(image: Image.Image, size: int) -> Image.Image:
    """The centred square, resized to ``size``x``size``."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.resize(
        (size, size),
        Image.Resampling.LANCZOS,
        box=(left, top, left + side, top + side),
        reducing_gap=3.0,
    )
