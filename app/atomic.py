"""Atomic file replacement: a reader sees the old file or the new one, never a mix.

Each file is written in full to a temporary file in the target's folder, flushed and fsynced,
then renamed over the target with ``os.replace`` (atomic on one file system), and the folder
is fsynced so the rename itself survives a power cut. Writing is split in two steps,
:meth:`PendingFile.prepare` and :meth:`PendingFile.commit`, so that several files (weights and
the project that names them) can all be written before any of them replaces its old version.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from app.errors import ProjectError

Writer = Callable[[Path], object]  # writes a file's whole content to the path it is given; its result is unused


class PendingFile:
    """One file on its way to ``target``: written to a temporary file, then renamed over it."""

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = _real_target(Path(target))
        self.temp: Path | None = None

    def prepare(self, write: Writer) -> None:
        """Let ``write`` fill a temporary file beside the target, then flush it to disk."""
        folder = self.target.parent
        if self.target.is_dir():
            raise ProjectError("is a folder, not a file", str(self.target))
        try:
            self.temp = _new_temp(folder, self.target.name)
            write(self.temp)
            _fsync_file(self.temp)
            _keep_mode(self.target, self.temp)
        except ProjectError:
            self.discard()
            raise
        except Exception as error:  # OSError, a full disk, a writer's own failure
            self.discard()
            raise ProjectError(f"cannot be written: {_reason(error)}", str(self.target)) from error

    def commit(self) -> None:
        """Rename the written file over the target, then make the rename durable."""
        if self.temp is None:
            raise ProjectError("nothing was prepared to be written", str(self.target))
        try:
            os.replace(self.temp, self.target)
        except OSError as error:
            self.discard()
            raise ProjectError(f"cannot be written: {_reason(error)}", str(self.target)) from error
        self.temp = None
        fsync_folder(self.target.parent)

    def discard(self) -> None:
        """Remove the temporary file, if any; the target is left as it was."""
        if self.temp is not None:
            try:
                os.unlink(self.temp)
            except OSError:
                pass
            self.temp = None


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    pending = PendingFile(target)
    pending.prepare(lambda path: path.write_bytes(data))
    pending.commit()


def write_all_atomic(files: Sequence[tuple[str | os.PathLike, Writer]]) -> None:
    """Write every file to its temporary, then replace them in the order given.

    A failure while writing leaves every target untouched. Only a crash between two renames
    can leave the earlier files new and the later ones old, so list the files that others
    refer to (weights) before the ones that refer to them (the project).
    """
    pending = [PendingFile(target) for target, _ in files]
    try:
        for item, (_, write) in zip(pending, files):
            item.prepare(write)
        for item in pending:
            item.commit()
    finally:
        for item in pending:
            item.discard()


def fsync_folder(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows cannot open a folder; its rename is already durable enough
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some file systems refuse to fsync a folder; the rename has still happened
    finally:
        os.close(handle)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        handle.flush()
        os.fsync(handle.fileno())


def _real_target(path: Path) -> Path:
    """Write through a symbolic link to the file it names rather than replacing the link."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _new_temp(folder: Path, name: str) -> Path:
    """An empty new file beside the target, created with the usual (umask) permissions."""
    for _ in range(100):
        temp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temp
    raise FileExistsError(f"no free temporary name in {folder}")


def _keep_mode(target: Path, temp: Path) -> None:
    """The new file keeps the permissions of the one it replaces."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.chmod(temp, mode)


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
