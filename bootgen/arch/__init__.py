"""x86 architecture facts as data, named as the Intel SDM (and later the AMD APM) names them.

Nothing here knows about bootgen's report: these are the processor's rules
(MSR numbers and fields, control-register bits, VMX control bits, exit
reasons, VM-instruction errors, exception vectors, memory types). The stub's
C headers that carry the same facts are generated from these modules
(``bootgen.contract.generate``), so each fact is written once.
"""
