"""User-facing errors.

Everything a user can get wrong (a config key, a data file, a tracking server) raises a
subclass of :class:`SftlabError` whose message is one line naming the key or file and how
to fix it. The entry point prints that line and exits non-zero instead of a traceback.
"""


class SftlabError(Exception):
    """Base class for errors caused by user input, reported as one line."""


class ConfigError(SftlabError):
    """A configuration value, or a combination of values, that cannot work."""


class DataError(SftlabError):
    """A dataset file or hub dataset that is missing, malformed or empty."""


class TrackingError(SftlabError):
    """The MLflow tracking server or store cannot be used."""
