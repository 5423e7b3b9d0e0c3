"""Images with Pillow: JPEG, PNG, WebP, GIF, TIFF, BMP and AVIF to each other, with resizing.

EXIF orientation is always applied; metadata (EXIF, XMP, ICC) is dropped unless `strip_metadata` is
false; bombs are refused (the pixel cap and Pillow's warning as an error, inspection.image_open).
"""

from __future__ import annotations

from typing import IO, Any

from django.conf import settings
from PIL import Image, ImageOps

from ..errors import Unprocessable
from ..inspection import IMAGE_TYPES, image_limits, image_open
from .base import ConversionFailed, Converter, Progress

TARGETS = {
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "png": ("PNG", "image/png", "png"),
    "webp": ("WEBP", "image/webp", "webp"),
    "gif": ("GIF", "image/gif", "gif"),
    "tiff": ("TIFF", "image/tiff", "tiff"),
    "bmp": ("BMP", "image/bmp", "bmp"),
    "avif": ("AVIF", "image/avif", "avif"),
}
MAX_SIDE = 16384
OPTIONS: dict[str, dict[str, Any]] = {
    "width": {"type": "integer", "minimum": 1, "maximum": MAX_SIDE, "description": "Target width in pixels."},
    "height": {"type": "integer", "minimum": 1, "maximum": MAX_SIDE, "description": "Target height in pixels."},
    "fit": {
        "type": "string",
        "enum": ["thumbnail", "contain", "cover", "fill"],
        "default": "thumbnail",
        "description": "thumbnail: fit inside the box, never enlarge; contain: fit inside, may enlarge; "
        "cover: fill the box and crop the centre; fill: exactly the box, aspect ignored.",
    },
    "quality": {"type": "integer", "minimum": 1, "maximum": 100, "default": 85, "description": "Lossy quality."},
    "strip_metadata": {"type": "boolean", "default": True, "description": "Drop EXIF/XMP/ICC metadata."},
    "effort": {
        "type": "integer",
        "minimum": 0,
        "maximum": 6,
        "default": 0,
        "description": "WebP encoder effort (libwebp `method`): 0 is fastest (a 1024 px thumbnail encodes "
        "in a fraction of the time of Pillow's default 4, at a similar size); 6 is slowest.",
    },
}
NO_ALPHA = {"JPEG", "BMP"}


def _box(size: tuple[int, int], width: int | None, height: int | None) -> tuple[int, int] | None:
    if not width and not height:
        return None
    w, h = size
    if width and height:
        return width, height
    if width:
        return width, max(1, round(h * width / w))
    return max(1, round(w * (height or h) / h)), height or h


def _resize(image: Image.Image, box: tuple[int, int] | None, fit: str) -> Image.Image:
    if box is None:
        return image
    if fit == "thumbnail":
        image.thumbnail(box, Image.Resampling.LANCZOS, reducing_gap=2.0)
        return image
    if fit == "contain":
        return ImageOps.contain(image, box, Image.Resampling.LANCZOS)
    if fit == "cover":
        return ImageOps.fit(image, box, Image.Resampling.LANCZOS)
    return image.resize(box, Image.Resampling.LANCZOS)


def _for_format(image: Image.Image, fmt: str) -> Image.Image:
    if fmt in NO_ALPHA and image.mode not in ("RGB", "L"):
        if image.mode in ("RGBA", "LA", "P", "PA"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return image.convert("RGB")
    if fmt in ("WEBP", "AVIF") and image.mode not in ("RGB", "RGBA"):
        return image.convert("RGBA" if "A" in image.mode or image.mode == "P" else "RGB")
    if image.mode in ("I;16", "I", "F") and fmt != "TIFF":
        return image.convert("RGB")
    return image


def make_run(source_mime: str, target: str) -> Any:
    fmt, _mime, _ext = TARGETS[target]

    def run(src: IO[bytes], dst: IO[bytes], options: dict[str, Any], progress: Progress) -> dict[str, Any]:
        try:
            image = image_open(src, source_mime)
        except Unprocessable as exc:
            raise ConversionFailed(exc.code, exc.detail) from exc
        try:
            with image_limits():
                exif = image.getexif()
                turned = exif.get(0x0112) in (5, 6, 7, 8)  # EXIF orientations that swap width and height
                upright = image.size[::-1] if turned else image.size
                box = _box(upright, options.get("width"), options.get("height"))
                if box and box[0] * box[1] > int(settings.FILES_MAX_IMAGE_PIXELS):
                    raise ConversionFailed("output_too_large", "The requested size exceeds the pixel limit.")
                if box and image.format == "JPEG" and options["fit"] in ("thumbnail", "contain"):
                    # Decode at a reduced scale that still covers the box: far faster for thumbnails.
                    image.draft("RGB", box[::-1] if turned else box)
                image.load()
                progress(30)
                icc = image.info.get("icc_profile")
                image = ImageOps.exif_transpose(image)
                image = _resize(image, box, options["fit"])
                progress(70)
                image = _for_format(image, fmt)
                save: dict[str, Any] = {}
                if fmt in ("JPEG", "WEBP", "AVIF"):
                    save["quality"] = options["quality"]
                if fmt == "JPEG":
                    save["optimize"] = False
                if fmt == "WEBP":
                    save["method"] = options["effort"]
                if not options["strip_metadata"]:
                    if exif:
                        exif[0x0112] = 1  # the pixels are transposed already
                        save["exif"] = exif.tobytes()
                    if icc:
                        save["icc_profile"] = icc
                image.save(dst, format=fmt, **save)
                progress(95)
                return {"width": image.size[0], "height": image.size[1], "format": fmt}
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ConversionFailed("decompression_bomb", str(exc)) from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ConversionFailed("corrupt_file", f"The image cannot be decoded: {exc}") from exc
        finally:
            image.close()

    return run


def converters() -> list[Converter]:
    return [
        Converter(
            family="image",
            source=mime,
            target=target,
            output_mime=TARGETS[target][1],
            run=make_run(mime, target),
            options=OPTIONS,
        )
        for mime in IMAGE_TYPES
        for target in TARGETS
    ]
