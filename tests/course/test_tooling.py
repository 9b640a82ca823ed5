"""The tools students meet first: the starter generator and the failure messages."""

import pytest

from course.chapters import get_chapter
from course.generator import MarkerError, starter_text
from course.wire import show_bytes

CHAPTER = get_chapter(2)


def starter(source: str) -> str:
    return starter_text(source, CHAPTER, "solutions/ch02_headers/x.py")[0]


def test_region_becomes_an_indented_todo_and_not_implemented_error():
    source = (
        "def f(x):\n"
        '    """Keep me."""\n'
        "    # BEGIN SOLUTION task 2.2\n"
        "    return x + 1\n"
        "    # END SOLUTION\n"
        "\n"
        "def g():\n"
        "    if True:\n"
        "        # BEGIN SOLUTION task 2.3\n"
        "        pass\n"
        "        # END SOLUTION\n"
    )
    text = starter(source)
    assert '    """Keep me."""\n    # TODO(task 2.2): Parse the request line.' in text
    assert "\n    raise NotImplementedError(" in text
    assert "\n        # TODO(task 2.3)" in text and "\n        raise NotImplementedError(" in text
    assert "return x + 1" not in text and "pass" not in text
    namespace = {}
    exec(compile(text, "starter", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="task 2.2"):
        namespace["f"](1)


@pytest.mark.parametrize(
    "source, problem",
    [
        ("def f():\n    # BEGIN SOLUTION task 2.1\n    # BEGIN SOLUTION task 2.1\n    # END SOLUTION\n", "cannot nest"),
        ("def f():\n    # END SOLUTION\n", "without a BEGIN"),
        ("def f():\n    # BEGIN SOLUTION task 2.1\n    pass\n", "never closed"),
        ("# BEGIN SOLUTION task 2.1\nx = 1\n# END SOLUTION\n", "inside a function"),
        ("def f():\n    # BEGIN SOLUTION task 9.9\n    pass\n    # END SOLUTION\n", "not a task of chapter 2"),
        ("def f():\n    #BEGIN SOLUTION\n    pass\n", "looks like a marker"),
        ("def f():\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n", "looks like a marker"),
    ],
    ids=["nested", "unpaired-end", "unclosed", "module-level", "foreign-task", "misspelled", "no-task"],
)
def test_malformed_markers_are_errors_with_file_and_line(source, problem):
    with pytest.raises(MarkerError, match=problem) as error:
        starter(source)
    assert "solutions/ch02_headers/x.py:" in str(error.value)


def test_show_bytes_makes_crlf_visible_and_points_a_caret():
    shown = show_bytes(b"HTTP/1.1 200 OK\nContent-Length: 2\r\n", caret_at=15, note="expected \\r\\n here")
    lines = shown.splitlines()
    assert lines[0] == "    HTTP/1.1 200 OK\\n"
    assert lines[1] == "    " + " " * 15 + "^ expected \\r\\n here"
    assert lines[2] == "    Content-Length: 2\\r\\n"


def test_show_bytes_escapes_controls_and_elides_long_middles():
    assert show_bytes(b"a\x00\tb\\") == "    a\\x00\\tb\\\\"
    long = show_bytes(b"x" * 5000)
    assert "bytes not shown" in long and len(long) < 2000
