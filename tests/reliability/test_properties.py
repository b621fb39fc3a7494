"""Property-based tests of the loaders and the template renderer: for any input, either the
right output or a `MoralbenchError` that names the file (and line); never another exception,
never a hang."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moralbench import template_limits
from moralbench.data_files import read_csv, read_jsonl
from moralbench.errors import FileLineError, MoralbenchError
from moralbench.prompts import PromptTemplate
from moralbench.yaml_task import load_yaml_tasks

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: no single example may take longer than this (a hang fails the test)
EXAMPLE_SECONDS = 10.0

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
hostile_lines = st.sampled_from(
    [
        b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"a": ' + b"9" * 5000 + b"}",
        b'{"a": "\\ud800"}',
        b'{"a": NaN}',
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'{"a": 1',
        b"\xef\xbb\xbf{}",
        b"   ",
    ]
)
jsonl_lines = st.lists(
    st.one_of(
        st.dictionaries(st.text(max_size=8), json_values, max_size=4).map(
            lambda d: json.dumps(d).encode()
        ),
        st.dictionaries(st.text(max_size=8), json_values, max_size=4).map(
            lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8")
        ),
        hostile_lines,
        st.binary(max_size=30).filter(lambda b: b"\n" not in b),
    ),
    max_size=6,
)


def _timed(check: Any) -> None:
    started = time.monotonic()
    check()
    assert time.monotonic() - started < EXAMPLE_SECONDS


def _expected_jsonl(lines: list[bytes]) -> list[tuple[int, dict[str, Any]]] | None:
    """What a correct reader yields, computed independently; None if some line is invalid."""
    out = []
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
            if number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue
            value = json.loads(text, parse_constant=lambda c: float(c))
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except (ValueError, UnicodeError, RecursionError):
            return None
        if not isinstance(value, dict):
            return None
        out.append((number, value))
    return out


@PROPERTY
@given(lines=jsonl_lines)
def test_jsonl_reader_yields_the_objects_or_a_file_line_error(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")

        def check() -> None:
            expected = _expected_jsonl(lines)
            try:
                got = list(read_jsonl(path))
            except FileLineError as exc:
                assert expected is None, f"valid file refused: {exc}"
                assert exc.path == str(path)
                assert exc.line is not None and 1 <= exc.line <= len(lines)
                return
            assert expected is not None
            assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)

        _timed(check)


cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
) | st.sampled_from(["\x0b", "a\x1db", "\x85", "x\u2028y", '"q"', "a,b", "l1\nl2", "\r", ""])


def _line_of(text: str, offset: int) -> int:
    return len(re.findall(r"\r\n|\r|\n", text[:offset])) + 1


@PROPERTY
@given(
    rows=st.lists(st.tuples(cell_text, cell_text, cell_text), max_size=6),
    bom=st.booleans(),
)
def test_csv_reader_round_trips_rows_with_their_start_lines(
    rows: list[tuple[str, str, str]], bom: bool
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["a", "b", "c"])
    starts = []
    for row in rows:
        starts.append(buffer.tell())
        writer.writerow(row)
    text = buffer.getvalue()
    expected = [
        (_line_of(text, start), dict(zip("abc", row, strict=True)))
        for start, row in zip(starts, rows, strict=True)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))

        def check() -> None:
            assert list(read_csv(path, ("a", "b", "c"))) == expected

        _timed(check)


@PROPERTY
@given(data=st.binary(max_size=200) | st.text(max_size=120).map(str.encode))
def test_csv_reader_on_any_bytes_gives_rows_or_a_file_line_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        path.write_bytes(data)

        def check() -> None:
            try:
                rows = list(read_csv(path))
            except FileLineError as exc:
                assert exc.path == str(path) and exc.line is not None and exc.line >= 1
                return
            assert all(isinstance(line, int) and isinstance(row, dict) for line, row in rows)

        _timed(check)


template_pieces = st.sampled_from(
    [
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        " ",
        "x",
        "story",
        "choices",
        "1",
        "9",
        "**",
        "*",
        "/",
        "0",
        "(",
        ")",
        "[",
        "]",
        "|",
        "length",
        "upper",
        "range",
        "for ",
        " in ",
        "endfor",
        "if ",
        "endif",
        "macro",
        "endmacro",
        "'a'",
        ".",
        "__class__",
        "10**99999",
        "range(10**9)",
        "set ",
        "=",
        ",",
        "letter",
        "loop.index",
        "-",
        "%",
        "~",
        "\n",
    ]
)


@PROPERTY
@given(pieces=st.lists(template_pieces, max_size=25), story=st.text(max_size=40))
def test_template_renders_text_or_reports_a_template_error(pieces: list[str], story: str) -> None:
    source = "".join(pieces)

    def check() -> None:
        try:
            template = PromptTemplate("prop_task", "default", text=source)
            rendered = template.render({"story": story, "choices": [" yes", " no"]})
        except MoralbenchError as exc:
            assert str(exc).startswith("task 'prop_task', template 'default'")
            return
        assert isinstance(rendered, str)
        if "{" not in source:  # plain text: itself, less one trailing newline (Jinja's rule)
            assert rendered == (source[:-1] if source.endswith("\n") else source)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(template_limits, "MAX_SECONDS", 1.0)
        _timed(check)


yaml_scalars = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["/etc/passwd", "/proc/self/environ", "../../x", "items.jsonl", "/dev/zero", "prompt.jinja"]
    ),
)


@PROPERTY
@given(
    raw=st.one_of(
        st.binary(max_size=120),
        st.text(max_size=120).map(str.encode),
        st.builds(
            lambda base, split, template, file: (
                "task: prop_task\nversion: '1'\n"
                f"dataset: {{base: {base}, splits: {{test: {json.dumps(split)}}}}}\n"
                "choices: [' yes', ' no']\ntarget: label\n"
                f"templates: {{default: {{{'file' if file else 'text'}: "
                f"{json.dumps(template)}}}}}\n"
            ).encode(),
            st.sampled_from(["task", "data"]),
            yaml_scalars,
            yaml_scalars,
            st.booleans(),
        ),
        st.sampled_from(
            [b"[" * 5000, b"a: 2024-13-45\ntask: x", b"task: !!python/object:os.system x"]
        ),
    )
)
def test_yaml_task_loader_builds_tasks_or_names_the_file(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "tasks"
        root.mkdir()
        (root / "items.jsonl").write_text('{"label": 0, "story": "s"}\n')
        (root / "prompt.jinja").write_text("Story: {{ story }}")
        path = root / "t.yaml"
        path.write_bytes(raw)

        def check() -> None:
            try:
                factories = load_yaml_tasks(root)
                for factory in factories:
                    factory.data_files(Path(folder) / "data", "test")
                    for template in factory.templates.values():
                        template.render({"story": "s", "label": 0, "choices": [" yes", " no"]})
            except MoralbenchError as exc:
                assert str(path) in str(exc) or "prop_task" in str(exc), str(exc)

        _timed(check)
