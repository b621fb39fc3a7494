"""Errors a user can act on. The CLI prints them once, without a traceback unless --verbose."""

from __future__ import annotations

from pathlib import Path


class MoralbenchError(Exception):
    """Base class: the message is complete and meant for the user."""


class FileLineError(MoralbenchError):
    """A file is malformed: names the file, the 1-based line (when known) and the reason."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class TaskDataError(FileLineError):
    """A task's data file is malformed."""


class DataNotFound(MoralbenchError):
    """A data file is missing: names the path looked for and the command that fetches it."""

    def __init__(self, path: Path | str, fetch_hint: str | None = None) -> None:
        self.path = str(path)
        hint = f"; fetch it with `{fetch_hint}`" if fetch_hint else ""
        super().__init__(f"data file not found: {self.path}{hint} (or point --data-dir at it)")


class UnknownTask(MoralbenchError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown task {name!r}; known tasks: {', '.join(sorted(known)) or 'none'}"
        )


class UnknownModel(MoralbenchError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown model backend {name!r}; known backends: {', '.join(sorted(known)) or 'none'}"
        )


class BackendUnavailable(MoralbenchError):
    """An optional dependency of a backend is missing."""

    def __init__(self, name: str, missing_package: str) -> None:
        self.name = name
        self.missing_package = missing_package
        super().__init__(
            f"backend {name!r} needs the package {missing_package!r}: pip install {missing_package}"
        )


class BackendUnsupported(MoralbenchError):
    """A backend cannot answer the request type a task asks for (choice or generate)."""

    def __init__(self, backend: str, request_type: str, task: str | None = None) -> None:
        self.backend = backend
        self.request_type = request_type
        self.task = task
        asked = f" (task {task!r} asks for them)" if task else ""
        super().__init__(
            f"backend {backend!r} cannot answer {request_type} requests{asked}; "
            "choose a backend that does (see `moralbench models`)"
        )


class PromptRenderError(MoralbenchError):
    """A template could not be rendered for a document."""

    def __init__(self, task: str, template: str, reason: str) -> None:
        self.task = task
        self.template = template
        super().__init__(f"task {task!r}, template {template!r}: {reason}")


class TaskDefinitionError(MoralbenchError):
    """A declarative (YAML) task definition is invalid."""


class OptionError(MoralbenchError):
    """A command-line or task option is invalid."""


class RunFailures(MoralbenchError):
    """Some requests failed after all retries; they are recorded in the samples files."""

    def __init__(self, count: int, results_path: str | None) -> None:
        self.count = count
        where = f" (see {results_path})" if results_path else ""
        super().__init__(
            f"{count} request(s) failed after retries and were recorded as failed{where}; "
            "pass --allow-failures to accept a partial run"
        )


class DownloadError(MoralbenchError):
    """A file could not be fetched, failed its sha256 check, or a source is misdeclared."""


class UnsafeArchive(DownloadError):
    """An archive member would escape the target folder or is not a plain file or folder."""

    def __init__(self, archive: Path, member: str, reason: str) -> None:
        self.archive = str(archive)
        self.member = member
        self.reason = reason
        super().__init__(
            f"{archive}: refusing to extract member {member!r}: {reason}; nothing was extracted"
        )
