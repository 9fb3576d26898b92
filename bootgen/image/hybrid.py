"""The patches that make a GRUB El Torito ISO also boot as a raw disk (a dd'ed USB stick).

BIOS: GRUB's boot_hybrid.img goes into the first 512 bytes of the ISO's system
area. It loads one 512-byte sector, diskboot.img, whose address it reads at MBR
byte 0x1b0; diskboot then loads the rest of the core image from the block list at
its byte 500. In an i386-pc-eltorito image diskboot.img follows the 2048-byte
cdboot.img, so that block list sits at byte 2548 of the boot file. The values are
the ones xorriso writes (xorrisofs(1), --grub2-mbr and --grub2-boot-info):
    MBR 0x1b0:        boot image 2 KiB block * 4 + 4   (64-bit LE)
    boot image 2548:  boot image 2 KiB block * 4 + 5   (64-bit LE)

UEFI: one MBR partition of type 0xEF covers the FAT image inside the ISO, so the
firmware finds EFI/BOOT/BOOTX64.EFI when the image is a disk. It is the only
entry, because EDK2 rejects an MBR whose partitions overlap.

CD: cdboot.img loads the rest of the core image with the mkisofs boot info table
(bytes 8-63 of the boot file), which is written here as well.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import BuildError

BLOCK = 2048                       # ISO 9660 logical block
SECTOR = 512
MBR_CORE_ADDRESS = 0x1B0           # boot_hybrid.img: where it reads diskboot's sector
CORE_BLOCKLIST = 2048 + 500        # cdboot.img (2048) + diskboot.img's first block list
PARTITION_TABLE = 0x1BE
ESP_TYPE = 0xEF                    # EFI System partition in an MBR (UEFI spec 5.2.1)
ACTIVE = 0x80                      # some BIOSes boot a USB stick only with an active entry
HEADS, SECTORS_PER_TRACK = 64, 32  # the geometry xorriso uses for hybrid images
MIN_PAD = 128 * 1024               # zeros after the last file (BIOS reads of the last block)
PAD_ALIGN = 64 * 1024


@dataclass(frozen=True)
class Layout:
    """Where things landed in the ISO, in 2 KiB blocks."""

    pvd_block: int                 # primary volume descriptor (always 16)
    core_block: int                # the BIOS El Torito boot image
    core_size: int                 # bytes
    esp_block: int                 # the FAT image (EFI El Torito entry)
    esp_size: int                  # bytes


def patch_core_image(core: bytes | bytearray, layout: Layout) -> bytes:
    """The El Torito boot image with the boot info table and the hybrid block address."""
    if len(core) < CORE_BLOCKLIST + 12 or len(core) != layout.core_size:
        raise BuildError("GRUB El Torito image is too small or changed size")
    data = bytearray(core)
    start, count, segment = struct.unpack_from("<QHH", data, CORE_BLOCKLIST)
    if start != 2 or count == 0:   # grub-mkimage leaves a relative block list (start 2)
        raise BuildError("GRUB El Torito image has no diskboot block list at byte 2548")
    struct.pack_into("<Q", data, CORE_BLOCKLIST, layout.core_block * 4 + 5)
    # Boot info table (mkisofs -boot-info-table): PVD block, file block, length,
    # 32-bit sum of the file's words from byte 64 on, then 40 reserved bytes.
    data[8:64] = bytes(56)
    struct.pack_into("<III", data, 8, layout.pvd_block, layout.core_block, len(data))
    struct.pack_into("<I", data, 20, _checksum(bytes(data[64:])))
    return bytes(data)


def _checksum(data: bytes) -> int:
    padded = data + bytes(-len(data) % 4)
    words: tuple[int, ...] = struct.unpack(f"<{len(padded) // 4}I", padded)
    return sum(words) & 0xFFFFFFFF


def padded_size(iso_size: int) -> int:
    """Image size with at least MIN_PAD of trailing zeros, rounded to PAD_ALIGN."""
    size = iso_size + MIN_PAD
    return size + (-size % PAD_ALIGN)


def make_mbr(boot_hybrid: bytes, layout: Layout, disk_size: int) -> bytes:
    """boot_hybrid.img with the core address and a single ESP partition entry."""
    if len(boot_hybrid) != SECTOR or boot_hybrid[510:] != b"\x55\xaa":
        raise BuildError("boot_hybrid.img is not a 512-byte MBR")
    mbr = bytearray(boot_hybrid)
    struct.pack_into("<Q", mbr, MBR_CORE_ADDRESS, layout.core_block * 4 + 4)
    first = layout.esp_block * (BLOCK // SECTOR)
    count = -(-layout.esp_size // SECTOR)
    if first + count > disk_size // SECTOR:
        raise BuildError("ESP partition would end past the image")
    mbr[PARTITION_TABLE:510] = bytes(510 - PARTITION_TABLE)
    mbr[PARTITION_TABLE:PARTITION_TABLE + 16] = _partition_entry(ACTIVE, ESP_TYPE, first, count)
    return bytes(mbr)


def _partition_entry(status: int, ptype: int, first: int, count: int) -> bytes:
    return (bytes([status]) + _chs(first) + bytes([ptype]) + _chs(first + count - 1)
            + struct.pack("<II", first, count))


def _chs(lba: int) -> bytes:
    """CHS triple of an LBA; the all-ones 1023/254/63 marker when it does not fit."""
    cylinder, rest = divmod(lba, HEADS * SECTORS_PER_TRACK)
    head, sector = divmod(rest, SECTORS_PER_TRACK)
    if cylinder > 1023:
        return b"\xFE\xFF\xFF"
    return bytes([head, ((cylinder >> 2) & 0xC0) | (sector + 1), cylinder & 0xFF])
