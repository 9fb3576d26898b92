"""Exceptions that the command line turns into one clear message."""


class BootgenError(Exception):
    """A failure with a message meant for the user (no traceback)."""

    exit_code = 4


class UsageError(BootgenError):
    """Bad input from the user: options, values, paths."""

    exit_code = 2


class ToolMissing(BootgenError):
    """An external program (compiler, emulator, GRUB tool) is not installed."""

    exit_code = 4


class BuildError(BootgenError):
    """Compiling, linking, validating or packaging the image failed."""

    exit_code = 4
