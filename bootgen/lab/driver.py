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

import contextlib
import socket
import subprocess
import threading
import time

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.step import step

from ..backends import defaults, orphan_guard
from ..backends.outcome import RunOutcome
from ..backends.serial.reader import read_report
from ..errors import ToolMissing
from ..verdict.evaluate import Result, evaluate
from .console import LabgridConsole

BACKEND = "labgrid"


class _Switching:
    """labgrid's ``cycle()`` (or ``on()``), which blocks until the target is powered again, in a thread of its
    own: a power driver that hangs (a PDU that does not answer, a command that never ends) is given up at the
    run's deadline instead of holding the run. Its failure is one line, exit 4."""

    def __init__(self, power, switch) -> None:
        self.power = power
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, args=(switch,), name="bootgen-power", daemon=True)
        self.thread.start()
        if hasattr(power, "_child"):  # QEMUDriver (labgrid 25, 26: its emulator's Popen, None when off)
            threading.Thread(target=self._guard_emulator, name="bootgen-guard", daemon=True).start()

    def _run(self, switch) -> None:
        try:
            switch()
        except Exception as exc:  # a PDU that does not answer, a command that fails: whatever the driver raises
            self.error = exc

    def _guard_emulator(self) -> None:
        """labgrid starts QEMU without a parent-death signal: as soon as it has started one (the power-on goes
        on for a while after), a guard process kills it should bootgen be killed."""
        while True:
            child = getattr(self.power, "_child", None)
            earlier = getattr(self.power, "_bootgen_guard", None)  # (PID, the pipe's end) of the last one guarded
            if isinstance(child, subprocess.Popen) and (earlier is None or earlier[0] != child.pid) \
                    and child.poll() is None:
                if earlier is not None:
                    orphan_guard.release(earlier[1])  # that emulator was stopped by this cycle
                held = orphan_guard.guard(child.pid)  # open while bootgen lives
                self.power._bootgen_guard = (child.pid, held) if held is not None else None
            if not self.thread.is_alive():
                return
            time.sleep(0.002)

    def finished(self) -> bool:
        if self.thread.is_alive():
            return False
        if self.error is not None:
            raise ToolMissing(f"the power cycle through {self.power} failed: {type(self.error).__name__}: "
                              f"{self.error}")
        return True

    def stop(self) -> None:
        """A thread cannot be stopped: it is left to end by itself (it is a daemon: it does not keep bootgen)."""


@target_factory.reg_driver
@attr.s(eq=False)
class BootgenDriver(Driver):
    """Power-cycle the target (``cycle``, when it has a power driver), read bootgen's report from its console
    within ``timeout`` seconds, and return bootgen's result."""

    bindings = {"console": "ConsoleProtocol", "power": {"PowerProtocol", None}}
    timeout = attr.ib(default=defaults.SERIAL_TIMEOUT_S, converter=float)
    cycle = attr.ib(default=True, validator=attr.validators.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()  # binds the console and the power driver
        if self.power is None and self.cycle and self._unbound_power():
            from labgrid.binding import BindingError
            raise BindingError("the target has more than one power driver and BootgenDriver bound none: name one "
                               "(BootgenDriver: {bindings: {power: NAME}}), or set cycle: false")

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
        # labgrid's drivers share one stack of steps, which two threads must not use at once: the console is read
        # only once the power driver is done (the port or the socket holds what arrives meanwhile).
        return read_report(LabgridConsole(self.console), str(self.console), timeout, backend=BACKEND,
                           power_cycle=cycle, replay=not own_console, read_while_cycling=False, started=started,
                           on_phase=on_phase)

    def _unbound_power(self) -> bool:
        """labgrid leaves an optional binding empty when two drivers could fill it: was that why?"""
        from labgrid.protocol import PowerProtocol
        return any(isinstance(d, PowerProtocol) for d in self.target.drivers if d is not self)

    def _switch(self, power, switch, deadline: float) -> _Switching:
        # QEMUDriver.on() waits for its emulator to connect to the console socket with no timeout of its own: an
        # emulator that dies first (a bad extra_args) would hang the run. The run's deadline bounds that wait.
        from labgrid.driver import QEMUDriver
        listening = getattr(power, "_socket", None) if isinstance(power, QEMUDriver) else None
        if isinstance(listening, socket.socket):
            listening.settimeout(max(0.5, deadline - time.monotonic() - 0.5))  # its failure, not a plain timeout
        self.switching = _Switching(power, switch)
        return self.switching

    def settle_power(self, wait_s: float = 10.0) -> None:
        """Before the target is cleaned up: let a power-on still under way end, so that the emulator it may be
        starting (QEMUDriver) is one labgrid knows of, to stop, or one bootgen can kill; a QEMUDriver still
        waiting for its emulator's console is told to stop waiting. A power driver of another kind, which
        starts nothing bootgen could stop, is not waited for."""
        from labgrid.driver import QEMUDriver
        switching = getattr(self, "switching", None)
        if switching is None or not switching.thread.is_alive() or not isinstance(switching.power, QEMUDriver):
            return
        listening = getattr(switching.power, "_socket", None)
        if isinstance(listening, socket.socket):
            with contextlib.suppress(OSError):
                listening.shutdown(socket.SHUT_RDWR)  # wakes its accept() (Linux)
        switching.thread.join(wait_s)
