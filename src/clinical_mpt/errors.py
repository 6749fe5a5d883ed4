"""The project's own error types.

Everything a user can get wrong (a config key, a data file, a library entry, a request) raises a
subclass of `ClinicalMPTError` with one clear sentence naming what is wrong and where. The CLI turns
these into `error: ...` on stderr and exit code 2, without a traceback unless `--debug` is given.
"""


class ClinicalMPTError(Exception):
    """Base class: a problem the user can fix (bad config, bad data, bad artifact)."""


class ConfigError(ClinicalMPTError):
    """A config file or command-line override is invalid."""


class DataError(ClinicalMPTError):
    """A data file is malformed; the message names the file and, where known, the line."""


class ArtifactError(ClinicalMPTError):
    """A saved prompt, checkpoint or library entry is missing, corrupt or for another backbone."""
