"""The advice's fixed wording: what to do about VT-x on each kind of host (data for verdict/advice.py)."""

from __future__ import annotations

NESTED_KVM_INTEL = ("on a KVM host: `modprobe -r kvm_intel; modprobe kvm_intel nested=1` (keep it with "
                    "`options kvm_intel nested=1` in /etc/modprobe.d/kvm.conf), then start the guest with "
                    "`-cpu host` (libvirt: <cpu mode='host-passthrough'/>)")
NESTED_CLOUD = ("in a cloud VM: choose the provider's nested-virtualization option (Google Cloud "
                "--enable-nested-virtualization, an Azure size that supports nested virtualization) or a "
                "bare-metal instance (AWS *.metal)")
KVM_SIGNATURE = "KVMKVMKVM"

#: Hypervisor vendor signatures (CPUID.40000000H:EBX:ECX:EDX) -> how to expose VT-x to the guest.
NESTED_BY_HYPERVISOR = {
    KVM_SIGNATURE: NESTED_KVM_INTEL,
    "Microsoft Hv": "on Hyper-V: with the VM off, `Set-VMProcessor -VMName NAME -ExposeVirtualizationExtensions $true`",
    "VMwareVMware": "on VMware: with the VM off, enable 'Expose hardware assisted virtualization to the guest OS' "
                    "(vhv.enable = \"TRUE\")",
    "VBoxVBoxVBox": "on VirtualBox: with the VM off, `VBoxManage modifyvm NAME --nested-hw-virt on`",
    "XenVMMXenVMM": "on Xen: set nestedhvm=1 in the guest's configuration",
    "TCGTCGTCGTCG": "QEMU's TCG accelerator does not emulate VT-x: use `--accel kvm --cpu host` on a host with "
                    "nested VMX, or `--backend bochs` for an emulated VT-x CPU",
}

AMD_V_UNTESTED = "AMD CPUs use AMD-V (SVM), which the bootgen that made this log did not test: boot a current image"
AMD_V = AMD_V_UNTESTED + "; for AMD-V, enable 'SVM Mode' in the firmware setup"
NESTED_KVM_AMD = "on a KVM host with an AMD CPU, nested AMD-V needs `kvm_amd nested=1` and `-cpu host`"
FIRMWARE_SETUP = ("enable 'Intel Virtualization Technology' (VT-x) in the firmware setup (BIOS/UEFI), save, then "
                  "power the machine off and on again: IA32_FEATURE_CONTROL stays locked until a reset")
REPORT_BUG = "if this persists, report it with the serial log (`--keep-log PATH`) and `--json` output"
UPDATE_FIRMWARE = "if VT-x is enabled on real hardware, update the firmware (it carries the microcode); "
