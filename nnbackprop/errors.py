"""The library's exceptions. The CLI turns each into one ``Error: ...`` line and an exit code."""


class NnbackpropError(Exception):
    """Bad input: a config, a data file, a result file or a value (the command line: exit 2)."""


class ConfigError(NnbackpropError):
    """A config file, or a --set override, that cannot be used."""


class DataError(NnbackpropError):
    """A CSV or values file that cannot be read as numbers."""


class ResultError(NnbackpropError):
    """A result JSON file that does not describe a trained network."""


class OutputError(NnbackpropError):
    """An output path that cannot be written."""
