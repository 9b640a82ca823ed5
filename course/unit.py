"""Helpers for the chapters' unit tests (`tests/chNN_slug/test_units.py`).

Unit tests call a chapter's named functions directly, through the `chapter_module` fixture;
these helpers turn what those functions did into a sentence a student can read.
"""

from __future__ import annotations


def raises_http_error(chapter_module, status: int, function, *args) -> str | None:
    """Call `function(*args)`; it must raise the chapter's HttpError with `status`.

    Returns None when it did, else what it did instead ("it returned 5"). The starter's
    NotImplementedError passes through, so the grade names the task still to do. Any other
    exception (a ValueError from int(), an IndexError) is what a server would answer with a
    500: it is reported, not raised.
    """
    HttpError = chapter_module("request").HttpError
    try:
        result = function(*args)
    except HttpError as error:
        return None if error.status == status else f"it raised HttpError({error.status}, ...)"
    except NotImplementedError:
        raise
    except Exception as error:
        return f"it raised {type(error).__name__}: {error}"
    return f"it returned {result!r}"


def header(response, name: str):
    """The value of a header field of a chapter's Response (names are case-insensitive):
    the value when there is one field, a list when several, None when none."""
    values = [value for key, value in response.headers if key.lower() == name.lower()]
    return values[0] if len(values) == 1 else values or None
