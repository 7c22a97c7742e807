"""Is an attachment what its extension says? Checked on its first bytes, so that a file
called `.pdf` is served as a PDF only if it is one."""

from __future__ import annotations

CONTENT_CHECKS = {
    "pdf": (lambda d: d.startswith(b"%PDF-"), "a PDF"),
    "png": (lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"), "a PNG image"),
    "jpg": (lambda d: d.startswith(b"\xff\xd8\xff"), "a JPEG image"),
    "jpeg": (lambda d: d.startswith(b"\xff\xd8\xff"), "a JPEG image"),
    "webp": (lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", "a WebP image"),
    "mp3": (
        lambda d: d.startswith(b"ID3") or (len(d) > 1 and d[0] == 0xFF and d[1] & 0xE0 == 0xE0),
        "an MP3 file",
    ),
    "ogg": (lambda d: d.startswith(b"OggS"), "an Ogg file"),
}


def content_mismatch(extension: str, content: bytes) -> str | None:
    """Why `content` is not a file of type `extension`, or None if it looks like one.

    Checked so that an attachment called `.pdf` is served as a PDF only if it is one.
    """
    if extension in ("txt", "md"):
        if b"\x00" in content:
            return "is not text: it holds NUL bytes"
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return "is not UTF-8 text"
        return None
    check, what = CONTENT_CHECKS[extension]
    if not check(content):
        return f"is not {what}: its content does not start like one"
    return None
