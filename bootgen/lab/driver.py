"""``BootgenDriver``: labgrid's way to add a function to a target is a driver bound to the protocols it needs
(labgrid's "Writing a driver"): this one binds a console (``ConsoleProtocol``) and, when the target has one, a
power driver (``PowerProtocol``). ``run()`` power-cycles the target, reads the console until bootgen's report
is whole (the last one, after a reboot) or the timeout, and returns bootgen's ``Result``; ``read()`` returns the
raw capture. In an environment file::

    imports: [bootgen.lab]
    targets:
      main:
        drivers:
          QEMUDriver: {...}          # or SerialDriver and a power driver, for a real box
          BootgenDriver: {timeout: 60}
"""

from __future__ import annotations

import socket
import time

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.step import step

from ..backends import defaults
from ..backends.outcome import RunOutcome
from ..backends.serial.reader import read_report
from ..errors import ToolMissing
from ..verdict.evaluate import Result, evaluate
from .console import LabgridConsole

BACKEND = "labgrid"


class _Cycled:
    """labgrid's ``cycle()`` returns once the target is powered again: finished at once."""

    def finished(self) -> bool:
        return True

    def stop(self) -> None:
        pass


@target_factory.reg_driver
@attr.s(eq=False)
class BootgenDriver(Driver):
    """Power-cycle the target (``cycle``, when it has a power driver), read bootgen's report from its console
    within ``timeout`` seconds, and return bootgen's result."""

    bindings = {"console": "ConsoleProtocol", "power": {"PowerProtocol", None}}
    timeout = attr.ib(default=defaults.SERIAL_TIMEOUT_S, converter=float)
    cycle = attr.ib(default=True, validator=attr.validators.instance_of(bool))

    @Driver.check_active
    @step(title="bootgen", result=True)
    def run(self, timeout: float | None = None) -> Result:
        """The verdict on this target, as ``bootgen run`` would give it."""
        outcome = self.read(timeout)
        return evaluate(outcome.serial, outcome)

    @Driver.check_active
    def read(self, timeout: float | None = None, started: float | None = None, on_phase=None) -> RunOutcome:
        """The console's capture up to the report's end line (or what came before ``timeout`` seconds from
        ``started``, by default now)."""
        started = time.monotonic() if started is None else started
        timeout = timeout or self.timeout
        power = self.power
        # An emulator that is its own console (QEMUDriver) has no console before it is powered: nothing to replay,
        # and without ``cycle`` it is switched on (if it is not on already) rather than left without a console.
        own_console = power is self.console
        switch = (power.cycle if self.cycle else power.on) if power is not None and (self.cycle or own_console) \
            else None
        cycle = (lambda: self._switch(power, switch, started + timeout)) if switch is not None else None
        return read_report(LabgridConsole(self.console), str(self.console), timeout, backend=BACKEND,
                           power_cycle=cycle, replay=not own_console, started=started, on_phase=on_phase)

    @staticmethod
    def _switch(power, switch, deadline: float) -> _Cycled:
        # QEMUDriver.on() waits for its emulator to connect to the console socket with no timeout of its own: an
        # emulator that dies first (a bad extra_args) would hang the run. The run's deadline bounds that wait.
        from labgrid.driver import QEMUDriver
        listening = getattr(power, "_socket", None) if isinstance(power, QEMUDriver) else None
        if isinstance(listening, socket.socket):
            listening.settimeout(max(1.0, deadline - time.monotonic()))
        try:
            switch()
        except Exception as exc:  # a PDU that does not answer, a command that fails: whatever the driver raises
            raise ToolMissing(f"the power cycle through {power} failed: {type(exc).__name__}: {exc}") from None
        return _Cycled()
