"""bootgen: build a bare-metal VT-x readiness probe and boot it under emulators."""

from .contract.project import VERSION as __version__

__all__ = ["__version__"]
