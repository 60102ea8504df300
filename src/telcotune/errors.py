"""Typed errors. The CLI turns any `TelcotuneError` into a one-line message and exit code 2."""


class TelcotuneError(Exception):
    """Base class for errors a user can fix; the message says what and where."""


class ConfigError(TelcotuneError):
    """An experiment config, sweep file or CLI option is invalid."""


class GlossaryError(TelcotuneError):
    """A glossary file is invalid."""


class ModelResolutionError(TelcotuneError):
    """A model spec could not be turned into a local folder."""


class DataError(TelcotuneError):
    """A data set on disk is missing or malformed."""


class StageError(TelcotuneError):
    """A stage cannot run because its inputs are missing or inconsistent."""
