"""What a plugin registers so `moralbench data download NAME` can fetch a dataset."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: `url`, the path it lands at under the data dir, and how to check it.

    `sha256` is the expected digest when known (a mismatch is an error); `extract_to` set
    means the file is a tar archive to unpack (safely) into that folder under the data dir.
    """

    url: str
    dest: str
    sha256: str | None = None
    extract_to: str | None = None


@dataclass(frozen=True)
class DatasetSource:
    name: str
    files: tuple[RemoteFile, ...]
    description: str = ""
    license: str = ""
    citation: str = ""
