"""Memory types (SDM Vol. 3A, 12.3 "Methods of Caching Available", table 12-2); IA32_VMX_BASIC[53:50],
the EPT memory types and the PAT use these encodings."""

from __future__ import annotations

MEMORY_TYPES: dict[int, str] = {0: "UC", 1: "WC", 4: "WT", 5: "WP", 6: "WB"}

#: The memory type the stub expects for its VMCS and VMXON regions.
WRITE_BACK = 6


def memory_type_name(value: int) -> str:
    return MEMORY_TYPES.get(value, f"reserved({value})")
