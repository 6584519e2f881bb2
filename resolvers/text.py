"""Which strings the databases can store as given, shared by every resolver that writes text."""

from __future__ import annotations

import unicodedata

from errors import BadUserInput

LINE_BREAKS_AND_TABS = frozenset("\t\n\r")
UNSTORABLE_TEXT = "Text must be valid Unicode without control characters."


def is_storable_text(text: str, *, multiline: bool = False) -> bool:
    """Valid UTF-8 without control characters; `multiline` text may also hold tabs and line breaks.

    A lone surrogate cannot be encoded for the driver and PostgreSQL refuses NUL,
    so either would otherwise fail in the database as a server error.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    allowed = LINE_BREAKS_AND_TABS if multiline else frozenset()
    return not any(
        unicodedata.category(character) == "Cc" and character not in allowed for character in text
    )


def require_storable_text(text: str, *, field: str, multiline: bool = False) -> str:
    """`text` unchanged, or BAD_USER_INPUT naming `field` when the databases cannot store it."""
    if not is_storable_text(text, multiline=multiline):
        raise BadUserInput(UNSTORABLE_TEXT, field=field)
    return text
