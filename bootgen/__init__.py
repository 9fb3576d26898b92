"""bootgen: build a bare-metal VT-x readiness probe and boot it under emulators."""

__version__ = "0.1.0"
