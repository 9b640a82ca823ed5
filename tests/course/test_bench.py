"""The memory benchmark tells a streaming server from one that reads the whole file.

Benchmarks report figures rather than pass or fail, but the tool itself must measure what it
claims: solution 5 stays flat while a copy that reads the file in one piece grows by its size.
"""

import shutil

from course.bench import memory_benchmark
from course.chapters import REPO_ROOT, get_chapter


def test_memory_benchmark_tells_streaming_from_reading_whole(tmp_path, capsys):
    chapter = get_chapter(5)
    assert memory_benchmark(chapter, size_mb=24) == 0, capsys.readouterr().out
    streaming = capsys.readouterr().out
    assert "within the target" in streaming, streaming

    package = tmp_path / chapter.slug
    shutil.copytree(REPO_ROOT / "solutions" / chapter.slug, package, ignore=shutil.ignore_patterns("__pycache__"))
    server = package / "server.py"
    server.write_text(server.read_text().replace("source.read(min(FILE_BLOCK, remaining))", "source.read(remaining)"))
    memory_benchmark(chapter, size_mb=48, impl=str(tmp_path))
    whole = capsys.readouterr().out
    rise = float(whole.split("rise of the peak: ")[1].split(" MiB")[0])
    assert rise > 40, f"reading a 48 MiB file whole should raise the peak by about 48 MiB:\n{whole}"
