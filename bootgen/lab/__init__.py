"""bootgen in a labgrid lab: ``BootgenDriver``, a labgrid driver that power-cycles a target through its power
driver, reads bootgen's report from its console driver and returns bootgen's result. An environment file names it
after ``imports: [bootgen.lab]``; ``bootgen run --backend labgrid --lg-env FILE`` adds it to a target that does
not. labgrid itself does the rest: resources, exporters, the coordinator, places, power and console drivers.
"""

from ..errors import ToolMissing

try:
    import labgrid  # noqa: F401  (the optional extra: one line naming it when it is missing)
except ImportError:
    raise ToolMissing("the labgrid integration needs labgrid: pip install 'bootgen[labgrid]'") from None

from .driver import BootgenDriver  # noqa: E402  (registers the driver with labgrid's target factory)

__all__ = ["BootgenDriver"]
