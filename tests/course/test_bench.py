"""The benchmarks measure what they claim; no test here depends on how fast anything is.

Benchmarks report figures rather than pass or fail, but the tools themselves must work. The
memory benchmark: solution 5 stays flat while a copy that reads the file in one piece grows by
its size. The throughput benchmark: every server gets figures (or a row saying why not), wrk's
report is read right, and the ratios and the tool used are printed.
"""

import json
import shutil

import pytest

from course.__main__ import main
from course.bench import memory_benchmark
from course.chapters import REPO_ROOT, get_chapter
from course.pytest_plugin import require_tool
from course.throughput import Load, Row, latency_bucket, parse_wrk, percentile_ms, take_median


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


# The throughput benchmark (`python -m course bench`).

# Real reports of Debian's wrk 4.1.0, captured on the course's machine: the stdlib server as
# shipped (`wrk -t2 -c50 -d3s --latency`), a 404 route, and a server that resets every
# connection. Note the trailing space after "1.26s" and the lines that appear only when not zero.
WRK_STDLIB = """\
Running 3s test @ http://127.0.0.1:18931/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    45.14ms  200.66ms   1.67s    95.15%
    Req/Sec     1.07k   567.81     1.95k    51.67%
  Latency Distribution
     50%    2.64ms
     75%    3.08ms
     90%    4.07ms
     99%    1.26s 
  6389 requests in 3.01s, 1.01MB read
Requests/sec:   2124.40
Transfer/sec:    344.39KB
"""

WRK_NOT_FOUND = """\
Running 2s test @ http://127.0.0.1:18932/nope
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.09ms    5.89ms 212.03ms   99.72%
    Req/Sec     1.05k   710.33     1.95k    58.54%
  Latency Distribution
     50%    2.69ms
     75%    3.09ms
     90%    3.71ms
     99%    6.87ms
  4285 requests in 2.10s, 2.08MB read
  Non-2xx or 3xx responses: 4285
Requests/sec:   2038.97
Transfer/sec:      0.99MB
"""

WRK_RESETS = """\
Running 2s test @ http://127.0.0.1:18941/
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     0.00      0.00     0.00      -nan%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 2.01s, 0.00B read
  Socket errors: connect 0, read 22725, write 0, timeout 0
Requests/sec:      0.00
Transfer/sec:       0.00B
"""


def test_wrk_report_is_parsed():
    load = parse_wrk(WRK_STDLIB)
    assert (load.requests, load.seconds, load.requests_per_s) == (6389, 3.01, 2124.40)
    assert load.p50_ms == pytest.approx(2.64) and load.p99_ms == pytest.approx(1260.0)
    assert (load.errors, load.non_2xx) == (0, 0)

    load = parse_wrk(WRK_NOT_FOUND)
    assert load.non_2xx == 4285 and load.errors == 0 and load.p99_ms == pytest.approx(6.87)

    load = parse_wrk(WRK_RESETS)
    assert load.requests == 0 and load.requests_per_s == 0.0
    assert load.p50_ms is None and load.p99_ms is None
    assert load.errors == 22725 and load.error_detail["read"] == 22725

    with pytest.raises(ValueError):
        parse_wrk("unable to connect to 127.0.0.1:18999 Connection refused")


def test_latency_percentiles_from_buckets():
    histogram = {}
    for microseconds in range(1, 1001):  # 1 µs .. 1 ms, evenly
        bucket = latency_bucket(microseconds)
        assert bucket <= microseconds and microseconds - bucket < microseconds / 64 + 1
        histogram[bucket] = histogram.get(bucket, 0) + 1
    assert percentile_ms(histogram, 0.50) == pytest.approx(0.5, rel=0.02)
    assert percentile_ms(histogram, 0.99) == pytest.approx(0.99, rel=0.02)
    assert percentile_ms({}, 0.5) is None


def rows_of(report: dict) -> dict:
    return {row["name"]: row for row in report["rows"]}


@pytest.mark.timeout(60)
def test_python_load_measures_each_server_and_prints_ratios(tmp_path, capsys):
    """A short run with the course's own load generator: figures for every row, the ratios,
    the tool named and its figures said to be bounded by it."""
    figures = tmp_path / "bench.json"
    code = main(["bench", "--chapter", "6", "--against", "stdlib", "--duration", "1.5", "--rounds", "1", "--connections", "4",
                 "--tool", "python", "--json", str(figures)])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(figures.read_text())
    assert report["tool"] == "python" and report["connections"] == 4
    rows = rows_of(report)
    assert set(rows) == {"chapter 6", "stdlib"}, out
    for name, row in rows.items():
        assert row["load"] and row["load"]["requests_per_s"] > 0, f"{name} has no figures:\n{out}"
        assert row["load"]["requests"] > 0 and row["load"]["non_2xx"] == 0, out
    # Both close after each response: the load generator must have reconnected.
    assert rows["chapter 6"]["keep_alive"] is False and rows["chapter 6"]["load"]["reconnects"] > 0, out
    assert "chapter 6 / stdlib" in out and "target >= 20x" in out, out
    assert "chapter 6 / uvicorn" in out and "(uvicorn not in --against)" in out, out
    assert "bounded by the tool" in out and "load generator" in out, out
    assert "machine: " in out and "cores" in out, out


@pytest.mark.timeout(60)
def test_wrk_measures_a_keep_alive_server(tmp_path, capsys):
    """The same through wrk, against the stdlib server speaking HTTP/1.1 (kept alive)."""
    require_tool("wrk", "the throughput benchmark loads servers with wrk when it is installed")
    figures = tmp_path / "bench.json"
    code = main(["bench", "--chapter", "6", "--against", "stdlib-http11", "--duration", "1", "--rounds", "1", "--connections", "4",
                 "--tool", "wrk", "--json", str(figures)])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(figures.read_text())
    assert report["tool"] == "wrk" and "wrk -t2 -c4 -d1s --latency" in out, out
    rows = rows_of(report)
    assert rows["stdlib-http11"]["keep_alive"] is True, out
    for name, row in rows.items():
        assert row["load"] and row["load"]["requests_per_s"] > 0, f"{name} has no figures:\n{out}"
    assert "chapter 6 / stdlib-http11" in out, out


@pytest.mark.timeout(30)
def test_a_server_that_answers_otherwise_gets_a_row_not_figures(tmp_path, capsys, monkeypatch):
    """A chapter whose GET / is not `Hello, World!` is reported, not loaded, and the run goes on;
    so is a missing uvicorn (exit status 0 as long as the chapter has figures)."""
    package = tmp_path / "ch06_gzip"
    shutil.copytree(REPO_ROOT / "solutions" / "ch06_gzip", package, ignore=shutil.ignore_patterns("__pycache__"))
    app = package / "app.py"
    app.write_text(app.read_text().replace('"Hello, World!"', '"Hello!"'))
    code = main(["bench", "--chapter", "6", "--impl", str(tmp_path), "--against", "none", "--duration", "1", "--rounds", "1",
                 "--tool", "python"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "chapter 6" in out and "b'Hello!'" in out and "not 200" in out, out



@pytest.mark.timeout(30)
def test_missing_uvicorn_gets_a_row_and_the_rest_runs(capsys, monkeypatch):
    """Without uvicorn its row says how to install it; the chapter is still measured, exit 0."""
    import course.throughput as throughput

    monkeypatch.setattr(throughput, "find_spec", lambda name: None)
    code = throughput.throughput_benchmark(get_chapter(6), ["uvicorn"], duration=1, connections=2, tool="python", rounds=1)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "not installed: pip install -r requirements-bench.txt" in out, out
    assert "chapter 6 / uvicorn" in out and "(uvicorn: no figures)" in out, out


def test_rounds_report_the_median_round():
    """With several rounds, a server's row shows its median round and every round's figure;
    a round without figures is said, not averaged in."""

    def round_with(requests_per_s):
        row = Row("chapter 9", "label")
        if requests_per_s is not None:
            row.load = Load(int(requests_per_s), 1.0, requests_per_s, 1.0, 2.0, 0, 0)
        else:
            row.note = "did not start"
        return row

    row = Row("chapter 9", "label")
    take_median(row, [round_with(5000.0), round_with(9000.0), round_with(7000.0)])
    assert row.load.requests_per_s == 7000.0
    assert row.rounds == [5000.0, 9000.0, 7000.0]
    row = Row("chapter 9", "label")
    take_median(row, [round_with(None), round_with(6000.0), round_with(8000.0)])
    assert row.load.requests_per_s == 6000.0
    assert "1 of 3 rounds without figures" in row.note
    row = Row("chapter 9", "label")
    take_median(row, [round_with(None)])
    assert row.load is None and row.note == "did not start"
