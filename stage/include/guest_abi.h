/* What the guest does, shared by guest.S and the exit handler (and expected by the host). */
#ifndef BOOTGEN_GUEST_ABI_H
#define BOOTGEN_GUEST_ABI_H

#define GUEST_TEST_PORT 0x80       /* the POST-code port: harmless if anything reaches hardware */
#define GUEST_OUT_VALUE 0x42
#define GUEST_VMCALL_VALUE 0xb007c0de

#endif
