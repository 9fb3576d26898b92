"""The CPU models QEMU offers under an accelerator, asked from QEMU over QMP.

``query-cpu-definitions`` names the models; ``query-cpu-model-expansion`` with
type ``full`` gives each one's properties as a guest under this accelerator
would see them (features the accelerator cannot give are filtered out: TCG
drops ``vmx``, and keeps ``svm`` and, on some models, ``npt``). QEMU runs with
``-machine none``: no guest, no firmware, gone when the query is answered.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from pathlib import Path

from ...errors import ToolMissing
from .. import defaults
from ..cpu_models import CpuModel
from ..process import EmulatorProcess

#: QEMU's start and the queries (about 0.2 s for 130 models here) get this long before it is stopped.
QUERY_TIMEOUT_S = 30.0


def qemu_models(accel: str = defaults.QEMU_ACCELS[0], qemu: str = defaults.QEMU_BINARY) -> list[CpuModel]:
    """Every model QEMU defines, with what it exposes under ``accel``; ToolMissing when QEMU cannot say."""
    if shutil.which(qemu) is None:
        raise ToolMissing(f"{qemu} not found (install Debian's 'qemu-system-x86' package)")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with tempfile.TemporaryDirectory(prefix="bootgen-models-") as tmp:
        stderr = Path(tmp) / "qemu.stderr"
        cmd = [qemu, "-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-accel", accel,
               "-chardev", f"socket,id=qmp,fd={theirs.fileno()},server=off", "-mon", "chardev=qmp,mode=control"]
        try:
            proc = EmulatorProcess.start(cmd, stderr=stderr, pass_fds=(theirs.fileno(),))
        except OSError as exc:
            raise ToolMissing(f"cannot start {qemu}: {exc.strerror}") from None
        finally:
            theirs.close()
        try:
            with proc:
                import asyncio
                try:
                    definitions, expansions = asyncio.run(asyncio.wait_for(_query(ours), QUERY_TIMEOUT_S))
                except Exception as exc:  # QMP broke down, QEMU refused the accelerator, or it hung
                    lines = [x for x in stderr.read_text(errors="replace").splitlines() if x.strip()]
                    detail = lines[0] if lines else f"{type(exc).__name__}: {exc}"
                    raise ToolMissing(f"QEMU could not list its CPU models under {accel}: {detail}") from None
        finally:
            ours.close()
    default = defaults.QEMU_CPU.get(accel)
    models = []
    for definition in definitions:
        name = definition["name"]
        if name == "host" and accel != "kvm":
            continue  # the host's own CPU: KVM only (bootgen refuses --cpu host under TCG)
        props = expansions.get(definition.get("alias-of") or name, {})
        vmx, svm = props.get("vmx"), props.get("svm")
        nested = props.get("vmx-ept") if vmx else props.get("npt") if svm else None
        models.append(CpuModel("qemu", name, props.get("vendor") or None, vmx, svm, nested,
                               alias_of=definition.get("alias-of"), deprecated=bool(definition.get("deprecated")),
                               default=name == default, source="QMP query-cpu-model-expansion"))
    return sorted(models, key=lambda m: (m.alias_of is not None, m.name.lower()))


async def _query(sock: socket.socket) -> tuple[list[dict], dict[str, dict]]:
    from qemu.qmp import QMPClient

    qmp = QMPClient("bootgen-models")
    await qmp.connect(sock)
    try:
        definitions: list[dict] = await qmp.execute("query-cpu-definitions")  # type: ignore[assignment]
        expansions: dict[str, dict] = {}
        for definition in definitions:
            if definition.get("alias-of"):
                continue  # an alias expands to the versioned model it names
            expanded = await qmp.execute("query-cpu-model-expansion",
                                         {"type": "full", "model": {"name": definition["name"]}})
            expansions[definition["name"]] = expanded["model"].get("props", {})  # type: ignore[index]
        with contextlib.suppress(Exception):
            await qmp.execute("quit")
        return definitions, expansions
    finally:
        with contextlib.suppress(Exception, EOFError):
            await qmp.disconnect()
