"""JSONL and CSV readers turn hostile lines into `file:line` errors; CSV cells keep every
character the csv module treats as text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_helpers import run_echo, write_task

from moralbench.data_files import read_csv, read_jsonl
from moralbench.errors import TaskDataError
from moralbench.leaderboard import build_leaderboard
from moralbench.leaderboard.errors import ResultsFileError
from moralbench.leaderboard.sources import load_results_file, load_samples

HOSTILE_LINES = {
    "deep nesting": ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    "5,000-digit integer": ('{"a": ' + "7" * 5000 + "}", "bad JSON: Exceeds the limit"),
    "lone surrogate": ('{"a": "\\ud800"}', "lone UTF-16 surrogate"),
    "lone low surrogate": ('{"a": "x\\uDC00y"}', "lone UTF-16 surrogate"),
}


@pytest.mark.parametrize("name", list(HOSTILE_LINES))
def test_hostile_jsonl_line_is_a_file_line_error(tmp_path: Path, name: str) -> None:
    line, reason = HOSTILE_LINES[name]
    path = tmp_path / "data.jsonl"
    path.write_text('{"ok": 1}\n' + line + "\n")
    with pytest.raises(TaskDataError) as info:
        list(read_jsonl(path))
    assert str(info.value).startswith(f"{path}:2: ")
    assert reason in str(info.value)


def test_surrogate_pair_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"a": "\\ud83d\\ude00"}\n')
    assert list(read_jsonl(path)) == [(1, {"a": "\U0001f600"})]


@pytest.mark.parametrize("name", list(HOSTILE_LINES))
def test_hostile_line_in_task_data_stops_the_run_with_file_and_line(
    tmp_path: Path, name: str
) -> None:
    tasks = write_task(tmp_path / "tasks")
    data = tasks / "items.jsonl"
    data.write_text(data.read_text() + HOSTILE_LINES[name][0] + "\n")
    with pytest.raises(TaskDataError, match=f"^{data}:5: "):
        run_echo(tasks, tmp_path / "out")


@pytest.mark.parametrize("name", list(HOSTILE_LINES))
def test_leaderboard_readers_name_file_and_line(tmp_path: Path, name: str) -> None:
    line, reason = HOSTILE_LINES[name]
    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"doc_id": "a"}\n' + line + "\n")
    with pytest.raises(ResultsFileError, match=f"^{samples}:2: "):
        load_samples(samples)
    results = tmp_path / "results_x.json"
    results.write_text(line)
    with pytest.raises(ResultsFileError) as info:
        load_results_file(results)
    assert str(info.value).startswith(str(results)) and reason in str(info.value)
    with pytest.raises(ResultsFileError):
        build_leaderboard([results])


@pytest.mark.parametrize(
    "char", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_csv_cells_keep_characters_str_splitlines_breaks_on(tmp_path: Path, char: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        f"Statement,Label,Reason\nI lied{char}to a friend,1,it hurt{char}them\nI helped,0,kind\n",
        encoding="utf-8",
    )
    rows = list(read_csv(path, ("Statement", "Label", "Reason")))
    assert rows == [
        (
            2,
            {"Statement": f"I lied{char}to a friend", "Label": "1", "Reason": f"it hurt{char}them"},
        ),
        (3, {"Statement": "I helped", "Label": "0", "Reason": "kind"}),
    ]


def test_csv_with_bom_reports_the_bad_byte_on_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xef\xbb\xbfStatement,Label,Reason\n\xff,1,x\n")
    with pytest.raises(TaskDataError, match=f"^{path}:2: not valid UTF-8"):
        list(read_csv(path))
    path.write_bytes(b"\xef\xbb\xbfStatement,Label,Reason\nok,1,x\nfine,0,y\n\xc3,1,z\n")
    with pytest.raises(TaskDataError, match=f"^{path}:4: not valid UTF-8"):
        list(read_csv(path))


def test_dfar_reader_keeps_quoted_multiline_cells_and_line_numbers(tmp_path: Path) -> None:
    from moralbench.tasks.dfar.data import read_dfar

    path = tmp_path / "DFAR_testset.csv"
    path.write_bytes(
        "\ufeffStatement,Label,Reason\n"
        '"two\nlines\u2028here",1,because\x0bso\n'
        "next,0,fine\n".encode()
    )
    docs = list(read_dfar(path, "test"))
    assert [(d["line"], d["statement"], d["reason"]) for d in docs] == [
        (2, "two\nlines\u2028here", "because\x0bso"),
        (4, "next", "fine"),
    ]


def test_json_round_trip_of_the_fixed_reader_matches_json_loads(tmp_path: Path) -> None:
    objects = [{"a": [1, 2, {"b": None}]}, {"s": "\u2028\x85 text"}, {"n": 10**40}]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    assert [obj for _, obj in read_jsonl(path)] == objects
