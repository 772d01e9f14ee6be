"""``python -m demos merge-results``: several runs' CSVs become one report."""

from __future__ import annotations

import csv
import dataclasses

import pytest

pytest.importorskip("matplotlib")

from demos.experiment import RunRecord, write_csv
from demos.merge_results import main, read_csv


def _record(m: int, seed: int, acc: float, epochs: int = 100) -> RunRecord:
    return RunRecord(
        "random-constraints", "binary", m, seed, "combopt", m, "gurobi", epochs, 5e-4,
        10, 90.0, acc, 20.0, 100.0,
    )


def test_merged_report_averages_every_seed(tmp_path):
    write_csv([_record(1, 0, 98.0), _record(2, 0, 90.0)], tmp_path / "a.csv")
    (tmp_path / "a.md").write_text("Command: `python -m demos random-constraints --seeds 0`\n")
    write_csv([_record(1, s, 96.0) for s in (1, 2, 3)], tmp_path / "b.csv")
    assert main([str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--name", "all",
                 "--out", str(tmp_path)]) == 0
    merged = read_csv(tmp_path / "all.csv")
    assert sorted((r.m, r.seed) for r in merged) == [(1, 0), (1, 1), (1, 2), (1, 3), (2, 0)]
    md = (tmp_path / "all.md").read_text()
    assert "| binary | 1 | combopt | 96.5 ± 0.9 | 4 | 97.8 |" in md  # mean of 98, 96, 96, 96
    assert "| binary | 2 | combopt | 90.0 ± 0.0 | 1 | 94.2 |" in md
    assert "python -m demos random-constraints --seeds 0" in md  # each source's command
    assert (tmp_path / "all.png").stat().st_size > 0


def test_csv_round_trips_through_write_and_read(tmp_path):
    records = [_record(4, 3, 77.7)]
    write_csv(records, tmp_path / "r.csv")
    assert read_csv(tmp_path / "r.csv") == records
    with (tmp_path / "r.csv").open() as f:
        assert next(iter(csv.DictReader(f)))["m"] == "4"
    assert next(f.name for f in dataclasses.fields(RunRecord)) == "task"


def test_a_run_in_two_sources_is_refused(tmp_path):
    write_csv([_record(1, 0, 98.0)], tmp_path / "a.csv")
    write_csv([_record(1, 0, 97.0)], tmp_path / "b.csv")
    with pytest.raises(SystemExit, match=r"b\.csv: run .* is also in .*a\.csv"):
        main([str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--name", "x",
              "--out", str(tmp_path)])


def test_mixed_protocols_in_one_cell_are_refused(tmp_path):
    write_csv([_record(1, 0, 98.0, epochs=100)], tmp_path / "a.csv")
    write_csv([_record(1, 1, 60.0, epochs=20)], tmp_path / "b.csv")
    with pytest.raises(SystemExit, match="mixes protocols"):
        main([str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--name", "x",
              "--out", str(tmp_path)])


def test_missing_file_and_foreign_csv_are_named(tmp_path):
    with pytest.raises(SystemExit, match="csv: no such file"):
        main([str(tmp_path / "nope.csv"), "--name", "x"])
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit, match="not a results CSV"):
        main([str(tmp_path / "other.csv"), "--name", "x", "--out", str(tmp_path)])


def test_the_report_leads_with_a_written_heading_and_its_figure(tmp_path):
    write_csv([_record(1, s, 98.0) for s in range(5)] + [_record(2, 0, 90.0)], tmp_path / "a.csv")
    assert main([str(tmp_path / "a.csv"), "--name", "rc_binary_m1-2", "--out", str(tmp_path)]) == 0
    lines = (tmp_path / "rc_binary_m1-2.md").read_text().splitlines()
    title = "Random Constraints, binary: m = 1, 2; 5 seeds; 100 epochs; Gurobi"
    assert lines[0] == f"# {title}"
    assert lines[2] == f"![{title}](rc_binary_m1-2.png)"
    assert lines[4].startswith("| variant | m |")
    assert "load average" not in "\n".join(lines)


def test_title_overrides_the_heading(tmp_path):
    write_csv([_record(1, 0, 98.0)], tmp_path / "a.csv")
    main([str(tmp_path / "a.csv"), "--name", "x", "--out", str(tmp_path), "--title", "By hand"])
    assert (tmp_path / "x.md").read_text().startswith("# By hand\n\n![By hand](x.png)\n")
