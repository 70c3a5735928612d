"""Which files a buildspec's ``artifacts`` (or a report) names, and the zip CodeBuild uploads.

As the buildspec reference describes: ``files`` are paths relative to ``base-directory`` (itself
relative to the source directory, where the build started), ``*`` matches within one path segment
and ``**`` any number of segments (``**/*`` is every file below), ``exclude-paths`` drops matches,
``discard-paths: yes`` keeps only each file's name. Only files are collected (a directory is
entered through a pattern such as ``dir/**/*``). A pattern that matches nothing fails the upload
with CodeBuild's ``CLIENT_ERROR: no matching artifact paths found``.
"""
from __future__ import annotations

import io
import re
import zipfile
from functools import lru_cache
from pathlib import Path, PurePosixPath

from emulator.codebuild.buildspec import FileSet

NO_MATCH = "no matching artifact paths found"


class ArtifactError(Exception):
    """The artifacts cannot be collected; the message is the UPLOAD_ARTIFACTS context's."""


@lru_cache(maxsize=256)
def pattern(glob: str) -> re.Pattern[str]:
    """A buildspec path pattern as a regular expression over POSIX relative paths."""
    parts: list[str] = []
    segments = [s for s in glob.strip().split("/") if s not in ("", ".")]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            # Any number of directories (none too); as the last segment, everything below.
            parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        piece = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment)
        parts.append(piece if last else piece + "/")
    return re.compile("".join(parts) + r"\Z")


def select(root: Path, files: FileSet) -> dict[str, Path]:
    """Map each artifact entry name to the file it holds, in a stable order.

    :raise ArtifactError: the base directory is missing or escapes the source, or nothing matches.
    """
    base = (root / files.base_directory).resolve() if files.base_directory else root.resolve()
    if not _inside(base, root.resolve()):
        raise ArtifactError(f"base directory {files.base_directory} is outside the source directory")
    if not base.is_dir():
        raise ArtifactError(f"{NO_MATCH} (base directory {files.base_directory} does not exist)")
    candidates = sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
    excluded = [pattern(glob) for glob in files.exclude_paths]
    chosen: dict[str, Path] = {}
    for glob in files.files:
        matcher = pattern(glob)
        for relative in candidates:
            if matcher.match(relative) and not any(x.match(relative) for x in excluded):
                chosen[PurePosixPath(relative).name if files.discard_paths else relative] = base / relative
    if not chosen:
        raise ArtifactError(NO_MATCH)
    return chosen


def zip_files(entries: dict[str, Path]) -> bytes:
    """The entries as a zip archive, each with its file's mode (a built binary stays executable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in entries.items():
            archive.write(path, name)
    return buffer.getvalue()


def unzip(data: bytes, target: Path) -> int:
    """Unpack a source artifact into ``target``, keeping file modes; return the number of files.

    :raise ArtifactError: an entry would land outside ``target``.
    """
    count = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            destination = (target / info.filename).resolve()
            if not _inside(destination, target.resolve()):
                raise ArtifactError(f"source archive entry {info.filename} points outside the source directory")
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                destination.chmod(mode)
            count += 1
    return count


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
