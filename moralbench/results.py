"""Where results go: streamed samples JSONL, then one results JSON per run."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .distributed import ProcessGroup
from .sample_record import SampleRecord


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%f")


def model_slug(model: str, model_args: dict[str, str]) -> str:
    """A folder name for a model: backend plus the model's last path part."""
    name = model_args.get("pretrained") or model_args.get("model") or ""
    name = Path(str(name).rstrip("/")).name if name else ""
    if model_args.get("gguf_file"):
        name = Path(model_args["gguf_file"]).stem
    slug = f"{model}__{name}" if name else model
    return re.sub(r"[^A-Za-z0-9._-]+", "_", slug)


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"


class SamplesWriter:
    """Streams sample records to `samples_<task>_<stamp>.jsonl` as documents complete.

    With several processes each streams to its own `.part<k>` file; the main process then
    writes the merged file in document order and removes the parts. Lines are written in small
    groups (every `LINES_PER_WRITE` lines or `SECONDS_PER_WRITE`), and `before_write` (the
    cache's flush) runs first: an answer is durable in the cache before its sample line is on
    disk, so an interrupted run's rerun never redoes a logged sample.
    """

    LINES_PER_WRITE = 1024
    SECONDS_PER_WRITE = 0.5

    def __init__(
        self,
        out_dir: Path,
        task: str,
        stamp: str,
        group: ProcessGroup,
        *,
        enabled: bool = True,
        before_write: Callable[[], None] | None = None,
    ) -> None:
        self.enabled = enabled
        self.group = group
        self._before_write = before_write
        self._lines: list[str] = []
        self._last_write = time.monotonic()
        self.path: Path | None = out_dir / f"samples_{task}_{stamp}.jsonl" if enabled else None
        self._stream_path: Path | None = None
        self._handle: IO[str] | None = None
        self._last_index = -1
        #: whether lines were streamed in document order (cache hits and batches finish out
        #: of order; `finish` then rewrites the file in order, so two runs can be diffed)
        self.streamed_in_order = True
        if enabled:
            out_dir.mkdir(parents=True, exist_ok=True)
            assert self.path is not None
            self._stream_path = (
                self.path
                if group.count == 1
                else self.path.with_suffix(f".part{group.index}.jsonl")
            )
            self._handle = open(self._stream_path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, record: SampleRecord) -> None:
        if self._handle is None:
            return
        index = record.index if record.index is not None else self._last_index + 1
        if index < self._last_index:
            self.streamed_in_order = False
        self._last_index = index
        self._lines.append(_dump(record.to_json()))
        if (
            len(self._lines) >= self.LINES_PER_WRITE
            or time.monotonic() - self._last_write > self.SECONDS_PER_WRITE
        ):
            self.write_pending()

    def write_pending(self) -> None:
        """Make the answers durable (`before_write`), then write the buffered lines."""
        self._last_write = time.monotonic()
        if self._handle is None or not self._lines:
            return
        if self._before_write is not None:
            self._before_write()
        self._handle.write("".join(self._lines))
        self._handle.flush()
        self._lines = []

    def close_stream(self) -> None:
        if self._handle is not None:
            self.write_pending()
            self._handle.close()
            self._handle = None

    def _streamed_prompts(self) -> dict[str, Any]:
        files = (
            [self._stream_path]
            if self.group.count == 1 and self._stream_path
            else [self.path.with_suffix(f".part{k}.jsonl") for k in range(self.group.count)]
            if self.path
            else []
        )
        prompts: dict[str, Any] = {}
        for path in files:
            if path is None or not path.exists():
                continue
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    if "prompt" in record:
                        prompts[record["doc_id"]] = record["prompt"]
        return prompts

    def finish(self, records: list[SampleRecord], *, rewrite: bool) -> None:
        """On the main process: write the final file in document order when needed."""
        self.close_stream()
        if not self.enabled or self.path is None or not rewrite:
            return
        prompts = self._streamed_prompts()
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            for index, record in enumerate(records):
                prompt = prompts.get(record.doc_id)
                handle.write(_dump(replace(record, prompt=prompt, index=index).to_json()))
        os.replace(tmp, self.path)
        if self.group.count > 1:
            for k in range(self.group.count):
                self.path.with_suffix(f".part{k}.jsonl").unlink(missing_ok=True)


def write_results(path: Path, payload: dict[str, Any]) -> Path:
    """Write the results JSON to `path` atomically (see `run_options.results_location`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)
    return path
