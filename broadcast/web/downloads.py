"""Download file names as officers read them: Vietnamese in `filename*` (RFC 6266, UTF-8), with an ASCII
`filename` for the few clients that ignore it. Used by the API and the pages alike."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote


def ascii_name(name: str) -> str:
    """'Nhật ký phát 28-11-2026.csv' -> 'nhat-ky-phat-28-11-2026.csv': no diacritics, no blanks, no quotes."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    bare = unicodedata.normalize("NFKD", stem.replace("đ", "d").replace("Đ", "D")).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", bare.lower()).strip("-") or "tai-ve"
    return f"{slug}.{extension}" if extension else slug


def attachment(name: str) -> str:
    """The Content-Disposition of a download called `name`."""
    clean = " ".join(unicodedata.normalize("NFC", name).replace("/", "-").replace("\\", "-").split())
    return f"attachment; filename=\"{ascii_name(clean)}\"; filename*=UTF-8''{quote(clean, safe='')}"
