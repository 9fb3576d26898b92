"""A matrix file: TOML, one ``[[run]]`` table per run, after kvm-unit-tests' unittests.cfg.

    [defaults]              # optional: keys every run takes unless it says otherwise
    backend = "bochs"

    [[run]]
    name = "skylake-x"      # unique; the JUnit case's name
    cpu_model = "corei7_skylake_x"
    expect = "..."          # the verdict it must give (contract.verdicts)

A run's keys are `bootgen run`'s options (RUN_KEYS); ``expect`` is required. A
file named without a path and without ``.toml`` is one of the matrices shipped
with bootgen (bootgen/matrices/).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..backends import defaults
from ..contract.verdicts import Verdict
from ..errors import UsageError

SHIPPED = Path(__file__).resolve().parent.parent / "matrices"

#: key -> (type, the `bootgen run` option it becomes).
RUN_KEYS: dict[str, tuple[type, str]] = {
    "backend": (str, "--backend"), "cpu": (str, "--cpu"), "cpu_model": (str, "--cpu-model"),
    "accel": (str, "--accel"), "firmware": (str, "--firmware"), "media": (str, "--media"), "smp": (int, "--smp"),
    "memory": (int, "--memory"), "append": (str, "--append"), "timeout": (float, "--timeout"),
    "image": (str, "--image"), "device": (str, "--device"), "baud": (int, "--baud"),
    "power_cycle": (str, "--power-cycle"), "lg_env": (str, "--lg-env"), "lg_target": (str, "--lg-target"),
}


@dataclass(frozen=True)
class Entry:
    name: str
    expect: Verdict
    options: tuple[tuple[str, object], ...]   # (key, value) in RUN_KEYS order

    def option(self, key: str) -> object | None:
        return dict(self.options).get(key)

    def argv(self) -> list[str]:
        """The `bootgen run` arguments for this entry (without the output options)."""
        out: list[str] = []
        for key, value in self.options:
            out.append(f"{RUN_KEYS[key][1]}={value}")  # one word: a value such as "-v" stays a value
        return out + ["--expect", self.expect.value]


def resolve(name: str) -> Path:
    path = Path(name)
    if path.suffix != ".toml" and path.parent == Path(".") and not path.exists():
        shipped = SHIPPED / f"{name}.toml"
        if shipped.is_file():
            return shipped
        choices = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.toml")))
        raise UsageError(f"no matrix file {name!r}: give a path, or one shipped with bootgen ({choices})")
    return path


def _value(where: str, key: str, value: object) -> object:
    if key not in RUN_KEYS:
        raise UsageError(f"{where}: unknown key {key!r} (one of: name, expect, {', '.join(RUN_KEYS)})")
    kind = RUN_KEYS[key][0]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UsageError(f"{where}: {key} must be a {kind.__name__}, not {value!r}")
    choices = {"backend": defaults.BACKENDS, "accel": defaults.QEMU_ACCELS, "firmware": defaults.QEMU_FIRMWARES,
               "media": defaults.QEMU_MEDIA}.get(key)
    if choices is not None and value not in choices:
        raise UsageError(f"{where}: {key} must be one of {', '.join(choices)}, not {value!r}")
    if key in ("smp", "memory", "baud") and value < 1:  # type: ignore[operator]
        raise UsageError(f"{where}: {key} must be at least 1, not {value!r}")
    if key == "timeout" and not 0 < value < float("inf"):  # type: ignore[operator]
        raise UsageError(f"{where}: timeout must be a positive number of seconds, not {value!r}")
    return value


def load(path: Path) -> list[Entry]:
    """The entries of a matrix file; a usage error names the file, the entry and the key at fault."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(doc) - {"defaults", "run"}
    if unknown:
        raise UsageError(f"{path}: unknown table {sorted(unknown)[0]!r} (a matrix has [defaults] and [[run]])")
    base = doc.get("defaults", {})
    runs = doc.get("run", [])
    if not isinstance(base, dict):
        raise UsageError(f"{path}: [defaults] must be a table of run options")
    if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) for r in runs):
        raise UsageError(f"{path}: no [[run]] entries (each one a table)")
    entries, names = [], set()
    for index, run in enumerate(runs, 1):
        where = f"{path}, run {index}"
        merged = {**base, **run}
        name = merged.pop("name", None)
        if not isinstance(name, str) or not name:
            raise UsageError(f"{where}: every run needs a name")
        where = f"{path}, run {name!r}"
        if name in names:
            raise UsageError(f"{where}: the name is used twice")
        names.add(name)
        expect = merged.pop("expect", None)
        try:
            verdict = Verdict(expect)
        except ValueError:
            raise UsageError(f"{where}: expect must be a verdict ({', '.join(v.value for v in Verdict)}), "
                             f"not {expect!r}") from None
        options = {key: _value(where, key, value) for key, value in merged.items()}
        if options.get("backend") == "serial" and not options.get("device"):
            raise UsageError(f"{where}: backend serial needs a device")
        if options.get("device") == "-":
            raise UsageError(f"{where}: a matrix run cannot read standard input: give the box's device")
        for key in ("image", "device", "lg_env"):  # relative to the matrix file, not to where bootgen runs
            value = options.get(key)
            if isinstance(value, str) and "://" not in value and not Path(value).is_absolute():
                options[key] = str((path.parent / value).resolve())
        entries.append(Entry(name, verdict, tuple((k, options[k]) for k in RUN_KEYS if k in options)))
    return entries
