"""``bootgen doctor``: does this host have what bootgen needs?

Like libvirt's virt-host-validate: one line per check, PASS / WARN / FAIL (or
INFO for facts that need no action), each with a hint saying what to do. A
FAIL means a required piece is missing (the compiler, GRUB's images, QEMU, the
Python dependencies) and makes the exit status 1; a WARN is an optional piece
(OVMF, Bochs, KVM, nested VMX).

Every check takes a :class:`~bootgen.backends.host.Host`, the probes that the
backend choice uses too; tests give it a temporary root and fakes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from ..backends.host import KVM_DEVICE, KVM_MODULES, Host
from ..errors import ToolMissing
from ..image import grub

__all__ = ["Check", "Host", "Status", "exit_status", "run_checks", "to_json", "to_text"]


class Status(str, enum.Enum):
    PASS = "PASS"
    INFO = "INFO"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    hint: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status.value, "message": self.message, "hint": self.hint}


#: Bochs 2.7 CPU models with VT-x, as measured with this project's stub (README: "What the backends prove").
BOCHS_VMX_MODELS = (
    "corei7_sandy_bridge_2600k", "core_duo_t2400_yonah", "core2_penryn_t9600", "corei5_lynnfield_750",
    "corei5_arrandale_m520", "corei7_ivy_bridge_3770k", "corei7_haswell_4770", "broadwell_ult",
    "corei7_skylake_x", "corei3_cnl", "corei7_icelake_u", "tigerlake",
)

PYTHON_MODULES = (("lief", "ELF post-processing"), ("pycdlib", "the ISO builder"), ("qemu.qmp", "driving QEMU"),
                  ("rich", "the status line on a terminal"))
PIP_HINT = "install bootgen's dependencies: `make test` (or `.venv/bin/pip install -e .`)"


# --------------------------------------------------------------------------- checks


def check_toolchain(host: Host) -> list[Check]:
    out = []
    for tool, package in (("gcc", "gcc"), ("ld", "binutils")):
        found = host.which(tool)
        out.append(Check(f"{tool}", Status.PASS, f"{tool}: {found}") if found else
                   Check(tool, Status.FAIL, f"{tool} not found: needed to build the stub",
                         f"apt-get install {package}"))
    return out


def check_grub(host: Host) -> list[Check]:
    found = host.which(grub.MKIMAGE)
    out = [Check("grub-mkimage", Status.PASS, f"grub-mkimage: {found}") if found else
           Check("grub-mkimage", Status.FAIL, "grub-mkimage not found: needed to build the ISO",
                 "apt-get install grub-common")]
    for platform in (grub.BIOS, grub.EFI):
        directory = Path(grub.DEBIAN_MODULE_ROOT.replace("<platform>", platform.name))
        missing = [name for name in platform.required_files if not host.path(directory / name).is_file()]
        name = f"grub-{platform.name}"
        if missing:
            out.append(Check(name, Status.FAIL, f"GRUB {platform.name} images missing in {directory} "
                             f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): needed for the ISO",
                             f"apt-get install {platform.package}"))
        else:
            out.append(Check(name, Status.PASS, f"GRUB {platform.name} images in {directory}"))
    return out


def check_qemu(host: Host) -> list[Check]:
    found = host.which("qemu-system-x86_64")
    if found:
        return [Check("qemu", Status.PASS, f"qemu-system-x86_64: {found}")]
    return [Check("qemu", Status.FAIL, "qemu-system-x86_64 not found: needed for `bootgen run --backend qemu`",
                  "apt-get install qemu-system-x86")]


def check_ovmf(host: Host) -> list[Check]:
    if (ovmf := host.ovmf()) is not None:
        return [Check("ovmf", Status.PASS, f"OVMF: {ovmf.code}")]
    return [Check("ovmf", Status.WARN, "OVMF not found: `--firmware ovmf` (UEFI boots) will not work",
                  "apt-get install ovmf")]


def check_bochs(host: Host) -> list[Check]:
    reason = host.bochs_unavailable()
    if reason:
        return [Check("bochs", Status.WARN, f"Bochs is not usable: {reason}",
                      "apt-get install bochs bochs-sdl bochsbios vgabios (Bochs's emulated VT-x proves the "
                      "VMXON success path on hosts without nested VMX)")]
    out = [Check("bochs", Status.PASS, "Bochs, its BIOS, VGA BIOS and SDL2 display plugin are installed")]
    try:
        models = host.bochs_models()
    except ToolMissing as exc:
        return out + [Check("bochs-vtx", Status.WARN, f"could not list Bochs's CPU models: {exc}",
                            "reinstall bochs")]
    vmx = [m for m in BOCHS_VMX_MODELS if m in models]
    if vmx:
        out.append(Check("bochs-vtx", Status.PASS, f"Bochs emulates VT-x on {len(vmx)} CPU models "
                         f"(e.g. {vmx[0]})"))
    else:
        out.append(Check("bochs-vtx", Status.WARN, "this Bochs build lists no CPU model with VT-x",
                         "install Debian's bochs package (built with VMX support)"))
    return out


def check_kvm(host: Host) -> list[Check]:
    """Not only whether /dev/kvm opens: whether a KVM guest really runs (a one-second trial start)."""
    modules = host.kvm_modules()
    named = f" (module {', '.join(modules)})" if modules else ""
    if host.kvm_problem() is None:
        if not host.which("qemu-system-x86_64"):
            return [Check("kvm", Status.WARN, f"{KVM_DEVICE} is accessible{named}, but without QEMU no KVM guest "
                          "could be tried", "apt-get install qemu-system-x86")]
        if (why := host.kvm_guest_trial()) is not None:
            return [Check("kvm", Status.WARN, f"{KVM_DEVICE} is accessible{named}, but a KVM guest does not run: "
                          f"{why}", "use `--accel tcg` (the default) or `--backend bochs`; this host's KVM "
                          "cannot run bootgen's guest")]
        return [Check("kvm", Status.PASS, f"{KVM_DEVICE}{named}: a KVM guest (-cpu host) ran for a second")]
    if not host.path(KVM_DEVICE).exists():
        module, setting = ("kvm_amd", "SVM Mode (AMD-V)") if host.amd_cpu() else ("kvm_intel", "VT-x")
        return [Check("kvm", Status.WARN, f"{KVM_DEVICE} does not exist: QEMU can only use TCG (emulated AMD-V, "
                      "no VT-x)",
                      f"enable {setting} in the firmware and load {module} (`modprobe {module}`); in a VM, enable "
                      "nested virtualization on its host")]
    hint = ("add your user to the 'kvm' group (`sudo adduser $USER kvm`), then log in again"
            if host.group_exists("kvm") else f"give your user read and write access to {KVM_DEVICE}")
    return [Check("kvm", Status.WARN, f"{KVM_DEVICE}{named} exists but is not accessible", hint)]


def check_cpu_flags(host: Host) -> tuple[list[Check], set[str]]:
    flags = host.cpu_flags()
    if not flags:
        return [Check("host-cpu", Status.WARN, "could not read the CPU flags from /proc/cpuinfo",
                      "run bootgen doctor on Linux")], flags
    if "vmx" in flags:
        return [Check("host-cpu", Status.PASS, "the host CPU has VT-x (vmx)")], flags
    if "svm" in flags:
        return [Check("host-cpu", Status.PASS, "the host CPU has AMD-V (svm): KVM guests with nested SVM test it "
                      "(`--accel kvm --cpu host`)", "`--backend bochs` shows VT-x on an emulated Intel CPU")], flags
    virtual = "hypervisor" in flags
    return [Check("host-cpu", Status.WARN, "the host CPU shows neither vmx nor svm"
                  + (" (this host is a virtual machine)" if virtual else ""),
                  "enable nested virtualization on this VM's host" if virtual else
                  "enable VT-x / AMD-V in the firmware setup, then power-cycle")], flags


def check_nested(host: Host, flags: set[str]) -> list[Check]:
    kind = "vmx" if "vmx" in flags else "svm" if "svm" in flags else None
    if kind is None:
        return [Check("kvm-nested", Status.INFO, "no nested-virtualization parameter to check (no vmx/svm flag)")]
    module = KVM_MODULES[kind]
    reload_hint = f"`modprobe -r {module}; modprobe {module} nested=1` (keep it: `options {module} nested=1` in " \
                  f"/etc/modprobe.d/kvm.conf)"
    value = host.nested_parameter(kind)
    if value is None:
        return [Check("kvm-nested", Status.WARN, f"{module} is not loaded", f"`modprobe {module} nested=1`")]
    if value in ("Y", "y", "1"):
        return [Check("kvm-nested", Status.PASS, f"{module} nested={value}: KVM guests can use "
                      f"{'VT-x' if kind == 'vmx' else 'AMD-V'}")]
    return [Check("kvm-nested", Status.WARN, f"{module} nested={value}: KVM guests get no "
                  f"{'VT-x' if kind == 'vmx' else 'AMD-V'}", reload_hint)]


def check_sources(host: Host) -> list[Check]:
    found = host.stub_sources()
    if found is not None:
        return [Check("stub-sources", Status.PASS, f"the stub's sources: {found}")]
    return [Check("stub-sources", Status.FAIL, "the stub's sources (stage/, linker/) are not found: nothing can "
                  "be built", "reinstall bootgen, or set BOOTGEN_SOURCE_DIR to a checkout")]


def check_python(host: Host) -> list[Check]:
    out = []
    for module, purpose in PYTHON_MODULES:
        if host.can_import(module):
            out.append(Check(f"python-{module}", Status.PASS, f"Python module {module} ({purpose})"))
        else:
            out.append(Check(f"python-{module}", Status.FAIL, f"Python module {module} is missing: needed for "
                             f"{purpose}", PIP_HINT))
    return out


EXTRAS_HINT = "pip install 'bootgen[labgrid]' (it covers --backend serial too)"


def check_extras(host: Host) -> list[Check]:
    """The optional extras: serial devices (pyserial, or labgrid's fork of it) and labgrid."""
    out = []
    if host.can_import("serial"):
        out.append(Check("extra-serial", Status.PASS, "the serial module (--backend serial on devices and RFC 2217)"))
    else:
        out.append(Check("extra-serial", Status.WARN, "no serial module: --backend serial reads tcp:// consoles and "
                         "standard input only", EXTRAS_HINT + ", or 'bootgen[serial]'"))
    if host.can_import("labgrid"):
        out.append(Check("extra-labgrid", Status.PASS, "labgrid (--backend labgrid, bootgen.lab's BootgenDriver)"))
    else:
        out.append(Check("extra-labgrid", Status.WARN, "labgrid is not installed: no --backend labgrid", EXTRAS_HINT))
    if {"pyserial", "pyserial-labgrid"} <= host.distributions():
        out.append(Check("extra-serial-twice", Status.WARN, "pyserial and pyserial-labgrid are both installed and "
                         "write the same serial module: removing one breaks the other",
                         "pip uninstall -y pyserial pyserial-labgrid, then " + EXTRAS_HINT))
    return out


def run_checks(host: Host | None = None) -> list[Check]:
    """Every check, in a fixed order."""
    host = host or Host()
    flag_checks, flags = check_cpu_flags(host)
    return [
        *check_toolchain(host), *check_grub(host), *check_qemu(host), *check_ovmf(host), *check_bochs(host),
        *check_kvm(host), *flag_checks, *check_nested(host, flags), *check_sources(host), *check_python(host),
        *check_extras(host),
    ]


def exit_status(checks: list[Check]) -> int:
    """0 when nothing required is missing, else 1."""
    return 1 if any(c.status is Status.FAIL for c in checks) else 0


def to_text(checks: list[Check], color: bool = False) -> str:
    tints = {Status.PASS: "\033[32m", Status.INFO: "\033[36m", Status.WARN: "\033[33m", Status.FAIL: "\033[31m"}
    reset = "\033[0m" if color else ""
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for check in checks:
        tint = tints[check.status] if color else ""
        lines.append(f"{tint}{check.status.value}{reset}  {check.name:<{width}}  {check.message}")
        if check.hint and check.status is not Status.PASS:
            lines.append(f"      {'':<{width}}  hint: {check.hint}")
    failed = sum(1 for c in checks if c.status is Status.FAIL)
    warned = sum(1 for c in checks if c.status is Status.WARN)
    lines.append(f"{len(checks)} checks: {failed} failed, {warned} warnings")
    return "\n".join(lines)


def to_json(checks: list[Check]) -> dict:
    return {"schema": "bootgen-doctor", "schema_version": 1, "ok": exit_status(checks) == 0,
            "checks": [c.as_dict() for c in checks]}
