"""Bench figures are written into their own section of the results file, never retyped."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.report import bench_command, write_section


def test_a_section_is_replaced_and_others_are_kept(tmp_path: Path) -> None:
    results = tmp_path / "benchmarks.md"
    write_section("producer", "python -m bench.producer", "ratio: 0.61", results)
    write_section("streaming", "python -m bench.streaming", "silver 50,000/s", results)
    write_section("producer", "python -m bench.producer --records 9", "ratio: 0.66", results)
    text = results.read_text()
    assert "ratio: 0.66" in text and "ratio: 0.61" not in text and "silver 50,000/s" in text
    assert text.count("<!-- bench:producer -->") == 1
    assert text.index("bench:producer") < text.index("bench:streaming")  # replaced in place


def test_the_record_flag_writes_what_the_command_printed(tmp_path: Path, monkeypatch, capsys) -> None:
    results = tmp_path / "benchmarks.md"
    monkeypatch.setattr("bench.report.RESULTS", results)
    monkeypatch.setattr(sys, "argv", ["bench.demo", "--runs", "2", "--record"])

    @bench_command("demo")
    def main() -> None:
        assert sys.argv == ["bench.demo", "--runs", "2"]  # the flag is the wrapper's, not the parser's
        print("p95 12 ms")

    main()
    assert capsys.readouterr().out == "p95 12 ms\n"
    assert "`python -m bench.demo --runs 2`" in results.read_text() and "p95 12 ms" in results.read_text()
