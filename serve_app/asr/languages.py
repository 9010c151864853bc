"""Language codes Whisper accepts (ISO 639-1, plus ``haw`` and ``yue`` which have none)."""

from __future__ import annotations

from serve_app.errors import InvalidRequestError

WHISPER_LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha "
    "haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr "
    "ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg "
    "th tk tl tr tt uk ur uz vi yi yo yue zh".split()
)


def normalize_language(language: str | None) -> str | None:
    """A request's language as Whisper's lower-case code (``None``: detect it), or a 400."""
    code = (language or "").strip().lower() or None
    if code is not None and code not in WHISPER_LANGUAGES:
        raise InvalidRequestError(f"Unsupported language '{code}': use an ISO 639-1 code")
    return code
