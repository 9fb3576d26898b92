"""``bootgen run --backend labgrid``: load a labgrid environment file, take its target, and have a
``BootgenDriver`` (the file's, or one bound to the target's console and power drivers) power-cycle it and read
its report. The target is cleaned up afterwards in every case: its drivers deactivated, an emulator it started
(QEMUDriver) stopped, a serial port closed."""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..backends import defaults, orphan_guard
from ..backends.outcome import RunOutcome
from ..errors import ToolMissing, UsageError

#: labgrid's own variable for the environment file (its pytest plugin and labgrid-client read it too).
ENV_VARIABLE = "LG_ENV"
DEFAULT_TARGET = "main"


@dataclass(frozen=True)
class LabgridConfig:
    env_file: Path
    target: str = DEFAULT_TARGET
    timeout_s: float | None = None     # None: the BootgenDriver's own (its environment's, or 300 s)


def env_file(given: Path | None) -> Path:
    """The environment file: the one given, else $LG_ENV, as labgrid's own tools find it."""
    path = given or (Path(os.environ[ENV_VARIABLE]) if os.environ.get(ENV_VARIABLE) else None)
    if path is None:
        raise UsageError("--backend labgrid needs --lg-env FILE (or $LG_ENV): a labgrid environment file")
    if not path.is_file():
        raise UsageError(f"no labgrid environment file {path}")
    return path


def run_labgrid(config: LabgridConfig, started: float | None = None,
                on_phase: Callable[[str], object] | None = None) -> RunOutcome:
    from labgrid import Environment

    try:
        env = Environment(config_file=str(config.env_file))
    except Exception as exc:  # labgrid's own: a YAML error, an unknown key, a missing template variable
        raise UsageError(f"cannot load the labgrid environment {config.env_file}: {exc}") from None
    target = None
    try:
        target, driver = _prepare(env, config)
        return driver.read(config.timeout_s, started=started, on_phase=on_phase)
    finally:
        if target is not None:
            _clean_up(target)


def _prepare(env, config: LabgridConfig):
    """The target and its active BootgenDriver: the environment's, or one bound to the target's drivers. What
    the file sets up wrong (an unknown driver, a bad value, a binding) is a usage error; what the lab does not
    give when the drivers start (a resource that is not there, a place not acquired, a port that does not open)
    is this machine's state."""
    from labgrid.binding import BindingError
    from labgrid.exceptions import InvalidConfigError, NoResourceFoundError, NoSupplierFoundError

    from .driver import BootgenDriver
    setup_errors = (InvalidConfigError, ValueError, TypeError)
    target = None
    try:
        try:
            target = env.get_target(config.target)
            if target is None:
                names = ", ".join(env.config.get_targets()) or "none"
                raise UsageError(f"{config.env_file} has no target {config.target!r} (its targets: {names})")
            ours = [d for d in target.drivers if isinstance(d, BootgenDriver)]
            if len(ours) > 1:
                raise UsageError(f"the target {config.target!r} has {len(ours)} BootgenDrivers: keep one")
            driver = ours[0] if ours else BootgenDriver(target, name=None,  # type: ignore
                                                          timeout=config.timeout_s or defaults.SERIAL_TIMEOUT_S)
        except (UsageError, NoResourceFoundError):
            raise
        except (BindingError, NoSupplierFoundError) as exc:
            raise UsageError(f"bootgen cannot bind to the console and power drivers of the target "
                             f"{config.target!r}: {exc}") from None
        except setup_errors as exc:
            raise UsageError(f"labgrid cannot set up the target {config.target!r} of {config.env_file}: "
                             f"{type(exc).__name__}: {exc}") from None
        target.activate(driver)  # and, first, what it binds: the console, the power driver, their resources
        return target, driver
    except UsageError:
        if target is not None:
            _clean_up(target)
        raise
    except Exception as exc:  # NoResourceFoundError, a coordinator that does not answer, a port that fails
        if target is not None:
            _clean_up(target)
        raise ToolMissing(f"labgrid could not prepare the target {config.target!r}: {type(exc).__name__}: {exc}") \
            from None


def _emulator(driver) -> subprocess.Popen | None:
    """A QEMUDriver's emulator (labgrid 25, 26: its Popen, None when off)."""
    child = getattr(driver, "_child", None)
    return child if isinstance(child, subprocess.Popen) else None


def _forget_exited(emulators) -> bool:
    """QEMUDrivers whose emulator exited by itself (isa-debug-exit, -no-reboot, or as labgrid told it to quit)
    still count it as on, and would tell it to quit: they are told it is off. Whether there was one."""
    exited = [d for d in emulators if d.status and (child := _emulator(d)) is not None and child.poll() is not None]
    for driver in exited:
        driver.status = 0
    return bool(exited)


def _clean_up(target) -> None:
    """labgrid's clean-up, which must not replace the result (QEMUDriver's ``off`` raises when QEMU already
    exited by itself); then any emulator a QEMUDriver still holds is killed: one it was starting when the run
    stopped, before it counted it as on, is not in labgrid's books."""
    from labgrid.driver import QEMUDriver

    from .driver import BootgenDriver
    for ours in (d for d in target.drivers if isinstance(d, BootgenDriver)):
        ours.settle_power()  # a QEMU still being started is one to stop
    emulators = [d for d in target.drivers if isinstance(d, QEMUDriver)]
    _forget_exited(emulators)
    try:
        target.cleanup()
    except Exception as exc:
        failure: Exception | None = exc
        if _forget_exited(emulators):  # it exited while labgrid was stopping it: once more, without it
            with contextlib.suppress(Exception):
                target.cleanup()
                failure = None
        if failure is not None:
            print(f"bootgen: warning: labgrid's clean-up of {target.name!r} failed: {type(failure).__name__}: "
                  f"{failure}", file=sys.stderr)
        if (again := getattr(target, "_atexit_cleanup", None)) is not None:  # labgrid's, at exit (26.0)
            atexit.unregister(again)  # tried here: not again, as a traceback, at exit
    for driver in emulators:
        if (child := _emulator(driver)) is not None and child.poll() is None:
            child.kill()
            child.wait(10)
        if (guarded := getattr(driver, "_bootgen_guard", None)) is not None:  # its emulator is gone
            orphan_guard.release(guarded[1])
            driver._bootgen_guard = None
