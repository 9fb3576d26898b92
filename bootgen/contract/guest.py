"""The test guest's ABI: what the guest does and what the host expects to see of it.

The guest (stage/vmx/guest.S) runs CPUID, writes GUEST_OUT_VALUE to
GUEST_TEST_PORT, executes VMCALL with GUEST_VMCALL_VALUE in EAX, then HLT; each
is a VM exit, in this order. Under AMD-V (stage/svm/guest.S) VMMCALL takes
VMCALL's place and each is a #VMEXIT.
"""

from __future__ import annotations

from ..arch import svm, vmx_exits

#: The POST-code port: harmless if a write ever reaches hardware.
GUEST_TEST_PORT = 0x80
GUEST_OUT_VALUE = 0x42
GUEST_VMCALL_VALUE = 0xB007C0DE

#: The exit reasons of a guest that ran as designed, in order.
EXPECTED_EXITS: tuple[vmx_exits.ExitReason, ...] = tuple(
    vmx_exits.BY_KEY[key] for key in ("cpuid", "io_instruction", "vmcall", "hlt"))
EXPECTED_EXIT_NUMBERS: tuple[int, ...] = tuple(r.number for r in EXPECTED_EXITS)

#: The exit handler stops the guest after this many exits, whatever it does.
MAX_EXITS = 16

#: The same guest under AMD-V (stage/svm/guest.S): VMMCALL instead of VMCALL; each a #VMEXIT, in this order.
EXPECTED_SVM_EXITS: tuple[svm.ExitCode, ...] = tuple(svm.BY_KEY[key] for key in ("cpuid", "ioio", "vmmcall", "hlt"))
EXPECTED_SVM_EXIT_CODES: tuple[int, ...] = tuple(c.number for c in EXPECTED_SVM_EXITS)
#: The guest's instruction lengths, for advancing RIP where the CPU has no NRIP save (APM Vol. 2, 15.7.1).
SVM_GUEST_LENGTHS: dict[str, int] = {"cpuid": 2, "ioio": 2, "vmmcall": 3}
