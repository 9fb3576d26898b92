"""The CPU models Bochs emulates (asked from Bochs: ``bochs --help cpu``) and the technology each gives.

Bochs does not print a model's features, so they come from its CPU database:
Bochs 2.7's ``cpu/cpudb/`` sources (``enable_cpu_extension(BX_ISA_VMX)`` /
``BX_ISA_SVM``, the SVM feature bitmask for nested paging), as Debian builds it
(``--enable-vmx=2 --enable-svm``). A model this table does not know (a newer
Bochs) is listed with technology ``unknown``, never guessed.
"""

from __future__ import annotations

from .. import defaults
from ..cpu_models import CpuModel
from .install import list_cpu_models

_INTEL, _AMD = "GenuineIntel", "AuthenticAMD"
SOURCE = "Bochs 2.7 cpudb"

#: name: (vendor, VT-x, AMD-V, nested paging). Yonah and Penryn have VMX without EPT; from Lynnfield on, EPT.
_CPUDB: dict[str, tuple[str, bool, bool, bool]] = {
    # bx_generic: the bochsrc cpuid: options at their defaults (vmx=1: no EPT); AMD-vendor in Debian's build.
    "bx_generic": (_AMD, True, False, False),
    "pentium": (_INTEL, False, False, False),
    "pentium_mmx": (_INTEL, False, False, False),
    "amd_k6_2_chomper": (_AMD, False, False, False),
    "p2_klamath": (_INTEL, False, False, False),
    "p3_katmai": (_INTEL, False, False, False),
    "p4_willamette": (_INTEL, False, False, False),
    "core_duo_t2400_yonah": (_INTEL, True, False, False),
    "atom_n270": (_INTEL, False, False, False),
    "p4_prescott_celeron_336": (_INTEL, False, False, False),
    "athlon64_clawhammer": (_AMD, False, False, False),
    "athlon64_venice": (_AMD, False, False, False),
    "turion64_tyler": (_AMD, False, True, False),
    "phenom_8650_toliman": (_AMD, False, True, True),
    "core2_penryn_t9600": (_INTEL, True, False, False),
    "corei5_lynnfield_750": (_INTEL, True, False, True),
    "corei5_arrandale_m520": (_INTEL, True, False, True),
    "corei7_sandy_bridge_2600k": (_INTEL, True, False, True),
    "zambezi": (_AMD, False, True, True),
    "trinity_apu": (_AMD, False, True, True),
    "ryzen": (_AMD, False, True, True),
    "corei7_ivy_bridge_3770k": (_INTEL, True, False, True),
    "corei7_haswell_4770": (_INTEL, True, False, True),
    "broadwell_ult": (_INTEL, True, False, True),
    "corei7_skylake_x": (_INTEL, True, False, True),
    "corei3_cnl": (_INTEL, True, False, True),
    "corei7_icelake_u": (_INTEL, True, False, True),
    "tigerlake": (_INTEL, True, False, True),
}


def bochs_models(bochs: str = defaults.BOCHS_BINARY) -> list[CpuModel]:
    """Every model this Bochs lists, in its order, with what its CPU database gives each."""
    models = []
    for name in list_cpu_models(bochs):
        known = _CPUDB.get(name)
        vendor, vmx, svm, npt = known if known else (None, None, None, None)
        models.append(CpuModel("bochs", name, vendor, vmx, svm, npt if (vmx or svm) else None,
                               default=name == defaults.BOCHS_CPU_MODEL, source=SOURCE if known else ""))
    return models
