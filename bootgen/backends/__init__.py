"""Booting the image: one process helper, the host's facts, firmware, QEMU over QMP, Bochs, backend choice.

Every backend returns a ``RunOutcome`` (``outcome``): the serial bytes and how
the emulator ended. Defaults for every backend live in ``defaults``.
"""
