"""The command line's commands: build and iso (``images``), run, report, doctor; ``emit`` prints a result."""
