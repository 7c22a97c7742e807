"""Where a scenario comes from: a YAML file, a workbook (.xlsx), a folder, or a zip
(on disk or uploaded).

A bundle gives the YAML bytes (or the workbook's) and, on request, the bytes of the
attachment files the scenario names. It only ever reads what is asked for, and enforces
the limits while doing so: 2 MiB of YAML, 10 MiB of workbook, 50 MiB for the whole
bundle, no path that leads outside it. Zips
are checked entry by entry before anything is read (absolute names, `..`, symlinks,
declared sizes), and every read is capped, so a zip bomb stops at the limit whatever
its headers claim.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO

from scenarios.format.errors import Diagnostic, ScenarioInvalid
from scenarios.format.loader import MAX_YAML_BYTES
from scenarios.format.schema import unsafe_path_reason
from scenarios.format.xlsx import MAX_WORKBOOK_BYTES, WORKBOOK_FILE

MAX_BUNDLE_BYTES = 50 * 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
SCENARIO_NAMES = ("scenario.yaml", "scenario.yml")
YAML_SUFFIXES = (".yaml", ".yml")
WORKBOOK_SUFFIX = ".xlsx"
# Spreadsheets that are not a plain .xlsx, and what to do about them.
OTHER_SPREADSHEETS = {
    ".xlsm": "a macro-enabled workbook: macros are refused; save it as an Excel workbook (.xlsx)",
    ".xltm": "a macro-enabled template: macros are refused; save it as an Excel workbook (.xlsx)",
    ".xlsb": "a binary workbook: save it as an Excel workbook (.xlsx)",
    ".xls": "an Excel 97-2003 workbook: save it as an Excel workbook (.xlsx)",
    ".xltx": "a template: save it as an Excel workbook (.xlsx)",
    ".ods": "an OpenDocument spreadsheet: save it as an Excel workbook (.xlsx)",
}

# What a scenario may attach, and the media type it is served with.
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
}

# A path on disk, or an upload: (file name, content) or a binary file with a `name`.
Source = Path | str | tuple[str, bytes] | BinaryIO

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,  # encrypted entry
    NotImplementedError,  # unsupported compression method
)


class AttachmentProblem(Exception):
    """An attachment cannot be read; the validator reports it where the YAML names it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _over_budget(path: str) -> AttachmentProblem:
    return AttachmentProblem(
        "bundle-too-large", f"with '{path}' the bundle passes the {_mib(MAX_BUNDLE_BYTES)} limit"
    )


class Bundle(ABC):
    """The YAML text of a scenario (or its workbook) and access to the files next to it."""

    def __init__(
        self, *, name: str, source_name: str, yaml: bytes = b"", workbook: bytes | None = None
    ):
        self.name = name  # what diagnostics call the YAML file (or the workbook)
        self.source_name = source_name  # a short name for the whole source
        self.yaml = yaml
        self.workbook = workbook  # the .xlsx bytes, when the scenario is a workbook
        self._used = len(yaml) + len(workbook or b"")
        self._cache: dict[str, bytes] = {}

    def read(self, path: str) -> bytes:
        """The bytes of the attachment at `path` (already checked to be a safe
        relative path). Raises AttachmentProblem."""
        if path not in self._cache:
            remaining = MAX_BUNDLE_BYTES - self._used
            data = self._read(path, remaining)
            if len(data) > remaining:
                raise _over_budget(path)
            self._used += len(data)
            self._cache[path] = data
        return self._cache[path]

    @abstractmethod
    def _read(self, path: str, remaining: int) -> bytes:
        """At most `remaining` + 1 bytes of the file (one more says it is too large)."""


class LoneFileBundle(Bundle):
    """An uploaded YAML file or workbook on its own: there is nothing next to it."""

    def _read(self, path: str, remaining: int) -> bytes:
        if self.workbook is not None:
            what, inside = "workbook", WORKBOOK_FILE
        else:
            what, inside = "YAML file", SCENARIO_NAMES[0]
        raise AttachmentProblem(
            "missing-attachment",
            f"'{path}' is not in the bundle: a {what} uploaded on its own carries no "
            f"attachments; upload a .zip holding {inside} and its files",
        )


class MemoryBundle(Bundle):
    """A draft written in the browser: its attachments are held in memory by path."""

    def __init__(self, *, files: dict[str, bytes], **kwargs):
        super().__init__(**kwargs)
        self.files = files

    def _read(self, path: str, remaining: int) -> bytes:
        if path not in self.files:
            raise AttachmentProblem(
                "missing-attachment",
                f"'{path}' has not been uploaded to this draft",
            )
        return self.files[path][: remaining + 1]


class FolderBundle(Bundle):
    """A YAML file on disk; attachments are relative to its folder."""

    def __init__(self, *, root: Path, **kwargs):
        super().__init__(**kwargs)
        self.root = root.resolve()

    def _read(self, path: str, remaining: int) -> bytes:
        target = self.root / path
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            raise AttachmentProblem("unsafe-path", f"'{path}' cannot be resolved") from None
        if not resolved.is_relative_to(self.root):
            raise AttachmentProblem(
                "unsafe-path", f"'{path}' leads outside the scenario's folder (a symlink)"
            )
        if not resolved.exists():
            raise AttachmentProblem(
                "missing-attachment", f"'{path}' is not in the bundle (looked in {self.root})"
            )
        if not resolved.is_file():
            raise AttachmentProblem("missing-attachment", f"'{path}' is not a file")
        if resolved.stat().st_size > remaining:
            raise _over_budget(path)
        with resolved.open("rb") as f:
            return f.read(remaining + 1)


class ZipBundle(Bundle):
    """A zip holding scenario.yaml at its root or in one top-level folder."""

    def __init__(self, *, archive: zipfile.ZipFile, prefix: str, **kwargs):
        super().__init__(**kwargs)
        self.archive = archive
        self.prefix = prefix

    def _read(self, path: str, remaining: int) -> bytes:
        try:
            info = self.archive.getinfo(self.prefix + path)
        except KeyError:
            raise AttachmentProblem(
                "missing-attachment",
                f"'{path}' is not in the zip (looked for '{self.prefix}{path}')",
            ) from None
        if info.is_dir():
            raise AttachmentProblem("missing-attachment", f"'{path}' is a folder, not a file")
        if info.file_size > remaining:
            raise _over_budget(path)
        try:
            return _read_entry(self.archive, info, remaining)
        except _ZIP_ERRORS as exc:
            raise AttachmentProblem(
                "bad-zip", f"'{path}' cannot be read from the zip: {exc}"
            ) from None


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    # At most cap + 1 bytes, whatever the entry's header declares: a header can lie,
    # and one byte over is enough to know the entry is too large.
    with archive.open(info) as entry:
        return entry.read(cap + 1)


def _fail(code: str, message: str, file: str) -> ScenarioInvalid:
    return ScenarioInvalid([Diagnostic.of(code, message, file=file)])


def _too_large_yaml(size: int, name: str) -> ScenarioInvalid:
    return _fail(
        "too-large",
        f"the YAML text is {size:,} bytes; the limit is {MAX_YAML_BYTES:,} (2 MiB)",
        name,
    )


def _too_large_workbook(size: int, name: str) -> ScenarioInvalid:
    return _fail(
        "bad-workbook",
        f"the workbook is {_mib(size)}; the limit is {_mib(MAX_WORKBOOK_BYTES)}",
        name,
    )


def _other_spreadsheet(suffix: str, name: str) -> ScenarioInvalid | None:
    reason = OTHER_SPREADSHEETS.get(suffix)
    return _fail("unsupported-file", f"'{name}' is {reason}", name) if reason else None


def _read_capped(path: Path, cap: int, name: str, code: str) -> bytes:
    size = path.stat().st_size
    if size > cap:
        if code == "too-large":
            raise _too_large_yaml(size, name)
        if code == "bad-workbook":
            raise _too_large_workbook(size, name)
        raise _fail(code, f"the file is {_mib(size)}; the limit is {_mib(cap)}", name)
    with path.open("rb") as f:
        return f.read(cap + 1)


def _open_zip(data: bytes, name: str, source_name: str) -> ZipBundle:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise _fail("bad-zip", f"not a readable zip: {exc}", name) from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _fail(
            "bundle-too-large",
            f"the zip holds {len(infos):,} entries (limit {MAX_ZIP_ENTRIES:,})",
            name,
        )

    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for info in infos:
        entry = info.filename
        if entry in seen:
            problems.append(Diagnostic.of("bad-zip", f"the zip holds '{entry}' twice", file=name))
        seen.add(entry)
        reason = unsafe_path_reason(info.orig_filename.rstrip("/")) or unsafe_path_reason(
            entry.rstrip("/")
        )
        if reason:
            problems.append(
                Diagnostic.of("unsafe-path", f"zip entry '{entry}' {reason}", file=name)
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(
                Diagnostic.of("unsafe-path", f"zip entry '{entry}' is a symlink", file=name)
            )
        if info.flag_bits & 0x1:
            problems.append(
                Diagnostic.of("bad-zip", f"zip entry '{entry}' is encrypted", file=name)
            )
    declared = sum(info.file_size for info in infos)
    if declared > MAX_BUNDLE_BYTES:
        problems.append(
            Diagnostic.of(
                "bundle-too-large",
                f"the zip unpacks to {_mib(declared)}; the limit is {_mib(MAX_BUNDLE_BYTES)}",
                file=name,
            )
        )
    if problems:
        raise ScenarioInvalid(problems)

    files = {info.filename for info in infos if not info.is_dir()}
    names = (*SCENARIO_NAMES, WORKBOOK_FILE)
    if any(candidate in files for candidate in names):
        prefix = ""
    else:
        nested = sorted(
            f
            for f in files
            if f.count("/") == 1 and f.split("/")[1] in names and not f.startswith("__MACOSX/")
        )
        folders = sorted({f.split("/")[0] for f in nested})
        if not nested:
            raise _fail(
                "no-scenario-file",
                f"the zip holds no scenario.yaml (nor {WORKBOOK_FILE}), neither at its root "
                "nor in a top-level folder",
                name,
            )
        if len(folders) > 1:
            raise _fail(
                "no-scenario-file",
                f"the zip holds several scenarios ({', '.join(folders)}): one per zip",
                name,
            )
        prefix = folders[0] + "/"
    # scenario.yaml wins over scenario.yml; a workbook beside a YAML file is ambiguous.
    yaml_entry = next((prefix + c for c in SCENARIO_NAMES if prefix + c in files), None)
    workbook_entry = prefix + WORKBOOK_FILE if prefix + WORKBOOK_FILE in files else None
    if yaml_entry and workbook_entry:
        raise _fail(
            "no-scenario-file",
            f"the zip holds both '{yaml_entry}' and '{workbook_entry}': one scenario file "
            "per zip, remove the other",
            name,
        )
    if workbook_entry:
        return ZipBundle(
            archive=archive,
            prefix=prefix,
            name=f"{name}/{workbook_entry}",
            source_name=source_name,
            workbook=_read_zipped(archive, workbook_entry, MAX_WORKBOOK_BYTES, name),
        )
    return ZipBundle(
        archive=archive,
        prefix=prefix,
        name=f"{name}/{yaml_entry}",
        source_name=source_name,
        yaml=_read_zipped(archive, yaml_entry, MAX_YAML_BYTES, name),
    )


def _read_zipped(archive: zipfile.ZipFile, entry: str, cap: int, name: str) -> bytes:
    """The scenario file inside a zip, within its limit."""
    info = archive.getinfo(entry)
    if info.file_size > cap:
        if cap == MAX_WORKBOOK_BYTES:
            raise _too_large_workbook(info.file_size, f"{name}/{entry}")
        raise _too_large_yaml(info.file_size, f"{name}/{entry}")
    try:
        return _read_entry(archive, info, cap)
    except _ZIP_ERRORS as exc:
        raise _fail("bad-zip", f"'{entry}' cannot be read from the zip: {exc}", name) from None


def _open_path(path: Path) -> Bundle:
    shown = str(path)
    if not path.exists():
        raise _fail("no-such-file", f"'{shown}' does not exist", shown)
    if path.is_dir():
        yaml_path = next((path / c for c in SCENARIO_NAMES if (path / c).is_file()), None)
        workbook_path = path / WORKBOOK_FILE
        if yaml_path is not None and workbook_path.is_file():
            raise _fail(
                "no-scenario-file",
                f"the folder '{shown}' holds both {yaml_path.name} and {WORKBOOK_FILE}: "
                "one scenario file per folder, remove the other",
                shown,
            )
        if yaml_path is not None:
            name = str(yaml_path)
            return FolderBundle(
                root=path,
                name=name,
                source_name=path.resolve().name,
                yaml=_read_capped(yaml_path, MAX_YAML_BYTES, name, "too-large"),
            )
        if workbook_path.is_file():
            name = str(workbook_path)
            return FolderBundle(
                root=path,
                name=name,
                source_name=path.resolve().name,
                workbook=_read_capped(workbook_path, MAX_WORKBOOK_BYTES, name, "bad-workbook"),
            )
        raise _fail(
            "no-scenario-file",
            f"the folder '{shown}' holds no scenario.yaml (nor {WORKBOOK_FILE})",
            shown,
        )
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return FolderBundle(
            root=path.parent,
            name=shown,
            source_name=path.name,
            yaml=_read_capped(path, MAX_YAML_BYTES, shown, "too-large"),
        )
    if suffix == WORKBOOK_SUFFIX:
        return FolderBundle(
            root=path.parent,
            name=shown,
            source_name=path.name,
            workbook=_read_capped(path, MAX_WORKBOOK_BYTES, shown, "bad-workbook"),
        )
    if suffix == ".zip":
        data = _read_capped(path, MAX_BUNDLE_BYTES, shown, "bundle-too-large")
        return _open_zip(data, shown, path.name)
    raise _other_spreadsheet(suffix, shown) or _fail(
        "unsupported-file",
        f"'{shown}' is not a scenario: give a .yaml/.yml file, an .xlsx workbook, a folder "
        "holding scenario.yaml, or a .zip",
        shown,
    )


def _open_upload(name: str, data: bytes) -> Bundle:
    shown = name or "upload"
    suffix = Path(shown).suffix.lower()
    if len(data) > MAX_BUNDLE_BYTES:
        raise _fail(
            "bundle-too-large",
            f"the upload is {_mib(len(data))}; the limit is {_mib(MAX_BUNDLE_BYTES)}",
            shown,
        )
    if suffix == ".zip":
        return _open_zip(data, shown, shown)
    if suffix in YAML_SUFFIXES:
        if len(data) > MAX_YAML_BYTES:
            raise _too_large_yaml(len(data), shown)
        return LoneFileBundle(name=shown, source_name=shown, yaml=data)
    if suffix == WORKBOOK_SUFFIX:
        if len(data) > MAX_WORKBOOK_BYTES:
            raise _too_large_workbook(len(data), shown)
        return LoneFileBundle(name=shown, source_name=shown, workbook=data)
    raise _other_spreadsheet(suffix, shown) or _fail(
        "unsupported-file",
        f"'{shown}' is not a scenario: upload a .yaml/.yml file, an .xlsx workbook or a .zip",
        shown,
    )


def open_bundle(source: Source) -> Bundle:
    """Open a scenario source. Raises ScenarioInvalid when it cannot be read."""
    if isinstance(source, Path | str):
        return _open_path(Path(source))
    if isinstance(source, tuple):
        name, data = source
        return _open_upload(name, bytes(data))
    # A file object (Django's UploadedFile): read one byte past the limit, no more.
    name = Path(getattr(source, "name", "") or "upload").name
    return _open_upload(name, source.read(MAX_BUNDLE_BYTES + 1))
