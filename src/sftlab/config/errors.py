"""User-facing errors.

Everything a user can get wrong (a config key, a data file, a tracking server) raises a
subclass of :class:`SftlabError` whose message is one line naming the key or file and how
to fix it. The entry point prints that line and exits non-zero instead of a traceback.
"""

import os


class SftlabError(Exception):
    """Base class for errors caused by user input, reported as one line."""


class ConfigError(SftlabError):
    """A configuration value, or a combination of values, that cannot work."""


class DataError(SftlabError):
    """A dataset file or hub dataset that is missing, malformed or empty."""


class TrackingError(SftlabError):
    """The MLflow tracking server or store cannot be used."""


# errno values that mean "this folder cannot take the write": full disk or quota, read-only
# file system, no permission. Anything else is a bug and keeps its traceback.
_STORAGE_ERRNOS = {"ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM"}


def _storage_os_error(err: BaseException) -> OSError | None:
    """The storage OSError behind ``err``: itself, its cause or context, or one a library reports
    as text only (safetensors: ``SafetensorError: ... I/O error: No space left on device (os error 28)``)."""
    import errno
    import re

    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and errno.errorcode.get(err.errno or -1) in _STORAGE_ERRNOS:
            return err
        m = re.search(r"\(os error (\d+)\)", str(err))
        if m and errno.errorcode.get(int(m.group(1))) in _STORAGE_ERRNOS:
            code = int(m.group(1))
            return OSError(code, os.strerror(code))
        err = err.__cause__ or err.__context__
    return None


def storage_error_line(err: BaseException, folder=None) -> str | None:
    """``error: ...`` naming the folder a write failed in and the space free there, or None.

    None when ``err`` is not about storage (a missing file is a different message elsewhere).
    """
    import shutil
    from pathlib import Path

    err = _storage_os_error(err)
    if err is None:
        return None
    target = Path(err.filename) if err.filename else Path(folder or ".")
    where = target if target.is_dir() else target.parent
    probe = where
    while not probe.exists() and probe != probe.parent:  # the nearest folder that exists
        probe = probe.parent
    try:
        free = f"{shutil.disk_usage(probe).free / 2**30:.1f} GiB free there"
    except OSError:
        free = "free space unknown"
    return (
        f"error: cannot write to {where}: {err.strerror or err} ({free}); free some space or point "
        "hydra.run.dir / paths.output_dir (and logger.tracking_uri) at a writable folder"
    )
