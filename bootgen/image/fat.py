"""A small FAT12 image (the EFI System Partition) written in Python, byte for byte reproducible.

Layout and field meanings follow Microsoft's "FAT: General Overview of On-Disk
Format" (fatgen103): boot sector with BPB, two FATs, a fixed root directory, then
the data clusters. Only 8.3 names are written (no long-name entries); UEFI firmware
and GRUB compare FAT names without regard to case. Every timestamp is the given
time in UTC (clamped to FAT's 1980-2107 range) and the volume serial is fixed, so
the same files give the same image.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

from ..errors import BuildError

SECTOR = 512
ROOT_ENTRIES = 64                  # multiple of 16: the root directory fills whole sectors
FAT12_MAX_CLUSTERS = 4084          # fatgen103: fewer than 4085 clusters means FAT12
_CLUSTER_MARGIN = 16               # stay clear of the FAT12/FAT16 boundary
_FREE_CLUSTERS = 16                # a little room, for firmware that writes to the ESP
_MEDIA = 0xF8                      # fixed disk
_ATTR_DIRECTORY = 0x10
_ATTR_ARCHIVE = 0x20
_ATTR_VOLUME_ID = 0x08
_NT_LOWER_BASE = 0x08              # Windows NT case flags in byte 12 of an entry
_NT_LOWER_EXT = 0x10
_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$%'-_@~`!(){}^#&")


@dataclass(frozen=True)
class FatOptions:
    """Everything besides the files that ends up in the image."""

    epoch: int = 0                 # seconds since 1970, UTC; all timestamps
    volume_id: int = 0x0B007CE1    # fixed serial instead of one derived from the clock
    label: str = "BOOTGEN"
    align: int = 2048              # image size multiple (an ISO 9660 block)


@dataclass
class _Node:
    name: str                                  # the 8.3 name as the caller spelled it
    data: bytes = b""
    children: dict[str, _Node] | None = None   # None for a file
    first_cluster: int = 0
    cluster_count: int = 0

    @property
    def is_dir(self) -> bool:
        return self.children is not None


@dataclass
class _Geometry:
    sectors_per_cluster: int
    fat_sectors: int
    total_sectors: int
    clusters: int                              # data clusters the image holds

    @property
    def cluster_bytes(self) -> int:
        return self.sectors_per_cluster * SECTOR

    @property
    def root_offset(self) -> int:
        return (1 + 2 * self.fat_sectors) * SECTOR

    @property
    def data_offset(self) -> int:
        return self.root_offset + ROOT_ENTRIES * 32


@dataclass
class _Allocation:
    fat: list[int] = field(default_factory=list)   # FAT entries, index = cluster number

    def chain(self, count: int) -> int:
        """Append a chain of count clusters; return its first cluster (0 for none)."""
        if count == 0:
            return 0
        first = len(self.fat)
        for n in range(count - 1):
            self.fat.append(first + n + 1)
        self.fat.append(0xFFF)                        # end of chain
        return first


def make_fat_image(files: dict[str, bytes], options: FatOptions = FatOptions()) -> bytes:
    """Build a FAT12 image holding files, keyed by '/'-separated 8.3 paths ("EFI/BOOT/BOOTX64.EFI")."""
    root = _tree(files)
    geometry = _geometry(root)
    allocation = _Allocation(fat=[0xF00 | _MEDIA, 0xFFF])   # entries 0 and 1 are reserved
    _allocate(root, allocation, geometry.cluster_bytes)
    image = bytearray(geometry.total_sectors * SECTOR)
    image[0:SECTOR] = _boot_sector(geometry, options)
    fat = _encode_fat12(allocation.fat, geometry.fat_sectors * SECTOR)
    for copy in range(2):
        start = (1 + copy * geometry.fat_sectors) * SECTOR
        image[start:start + len(fat)] = fat
    stamp = _dos_timestamp(options.epoch)
    root_entries = [_label_entry(options.label, stamp)] + _entries(root, stamp)
    _put(image, geometry.root_offset, b"".join(root_entries), ROOT_ENTRIES * 32)
    _write_tree(image, root, root, geometry, stamp)
    return bytes(image)


def _tree(files: dict[str, bytes]) -> _Node:
    root = _Node("", children={})
    for path, data in files.items():
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise BuildError(f"empty FAT path {path!r}")
        node = root
        for part in parts[:-1]:
            node = _child(node, part, directory=True)
        leaf = _child(node, parts[-1], directory=False)
        leaf.data = data
    if len(root.children or {}) + 1 > ROOT_ENTRIES:
        raise BuildError(f"too many entries in the FAT root directory (at most {ROOT_ENTRIES - 1})")
    return root


def _child(parent: _Node, name: str, directory: bool) -> _Node:
    assert parent.children is not None
    key = _short_name(name)[0].decode()
    existing = parent.children.get(key)
    if existing is not None:
        if existing.is_dir != directory or not directory:
            raise BuildError(f"FAT path conflict at {name!r}")
        return existing
    node = _Node(name, children={} if directory else None)
    parent.children[key] = node
    return node


def _short_name(name: str) -> tuple[bytes, int]:
    """The 11-byte 8.3 name and NT case flags; BuildError if name is not a plain 8.3 name."""
    base, dot, ext = name.partition(".")
    flags = 0
    for part, bit in ((base, _NT_LOWER_BASE), (ext, _NT_LOWER_EXT)):
        if part.islower():
            flags |= bit
        elif not (part.isupper() or part == part.upper()):
            raise BuildError(f"FAT name {name!r} mixes upper and lower case")
    base, ext = base.upper(), ext.upper()
    if (not base or len(base) > 8 or len(ext) > 3 or (dot and not ext)
            or not set(base + ext) <= _NAME_CHARS):
        raise BuildError(f"{name!r} is not a valid FAT 8.3 name")
    return (base.ljust(8) + ext.ljust(3)).encode("ascii"), flags


def _dir_bytes(node: _Node) -> int:
    return 32 * (2 + len(node.children or {}))      # ".", ".." and the children


def _clusters_needed(node: _Node, cluster_bytes: int) -> int:
    if not node.is_dir:
        return -(-len(node.data) // cluster_bytes)
    own = 0 if node.name == "" else -(-_dir_bytes(node) // cluster_bytes)
    return own + sum(_clusters_needed(c, cluster_bytes) for c in (node.children or {}).values())


def _geometry(root: _Node) -> _Geometry:
    """Smallest cluster size that keeps the volume FAT12; size rounded up to the alignment."""
    for spc in (1, 2, 4, 8, 16, 32, 64):
        needed = _clusters_needed(root, spc * SECTOR) + _FREE_CLUSTERS
        geometry = _fit(spc, needed)
        if geometry.clusters <= FAT12_MAX_CLUSTERS - _CLUSTER_MARGIN:
            return geometry
    raise BuildError("files too large for a FAT12 ESP image")


def _fit(spc: int, clusters: int) -> _Geometry:
    align_sectors = 2048 // SECTOR
    root_sectors = ROOT_ENTRIES * 32 // SECTOR
    while True:
        fat_sectors = -(-((clusters + 2) * 3 + 1) // 2 // SECTOR)
        data_start = 1 + 2 * fat_sectors + root_sectors
        total = data_start + clusters * spc
        total += -total % align_sectors
        holds = (total - data_start) // spc           # what a reader will count
        if holds + 2 <= fat_sectors * SECTOR * 2 // 3:
            return _Geometry(spc, fat_sectors, total, holds)
        clusters = holds


def _allocate(node: _Node, allocation: _Allocation, cluster_bytes: int) -> None:
    """Directories first (breadth first), then file data, in insertion order."""
    queue = [node]
    dirs: list[_Node] = []
    while queue:
        current = queue.pop(0)
        dirs.append(current)
        queue.extend(c for c in (current.children or {}).values() if c.is_dir)
    for d in dirs[1:]:                                # the root has a fixed area
        d.cluster_count = -(-_dir_bytes(d) // cluster_bytes)
        d.first_cluster = allocation.chain(d.cluster_count)
    for d in dirs:
        for f in (c for c in (d.children or {}).values() if not c.is_dir):
            f.cluster_count = -(-len(f.data) // cluster_bytes)
            f.first_cluster = allocation.chain(f.cluster_count)


def _boot_sector(g: _Geometry, options: FatOptions) -> bytes:
    """fatgen103 section 3: BPB plus the FAT12/16 extended boot record."""
    small_total = g.total_sectors if g.total_sectors < 0x10000 else 0
    label = _label_bytes(options.label)
    bpb = struct.pack(
        "<3s8sHBHBHHBHHHII",
        b"\xEB\x3C\x90", b"BOOTGEN ", SECTOR, g.sectors_per_cluster, 1, 2,
        ROOT_ENTRIES, small_total, _MEDIA, g.fat_sectors, 32, 64, 0,
        0 if small_total else g.total_sectors)
    ebr = struct.pack("<BBBI11s8s", 0x80, 0, 0x29, options.volume_id & 0xFFFFFFFF,
                      label, b"FAT12   ")
    code = b"\xFA\xF4\xEB\xFD"                         # cli; hlt; jmp $-1: not bootable
    sector = bytearray(SECTOR)
    sector[0:len(bpb + ebr)] = bpb + ebr
    sector[0x3E:0x3E + len(code)] = code
    sector[510:512] = b"\x55\xAA"
    return bytes(sector)


def _encode_fat12(entries: list[int], size: int) -> bytes:
    """Pack 12-bit entries, two per three bytes (fatgen103, FAT12 entry access)."""
    padded = entries + [0] * (len(entries) % 2)
    out = bytearray()
    for lo, hi in zip(padded[0::2], padded[1::2], strict=True):
        out += struct.pack("<I", lo | (hi << 12))[:3]
    if len(out) > size:
        raise BuildError("FAT12 table overflow")
    return bytes(out.ljust(size, b"\0"))


def _dos_timestamp(epoch: int) -> tuple[int, int]:
    """(date, time) words in UTC, clamped to the FAT range 1980-01-01..2107-12-31."""
    t = time.gmtime(epoch)
    if t.tm_year < 1980:
        return (1 << 5) | 1, 0
    if t.tm_year > 2107:
        return (127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29
    date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    clock = (t.tm_hour << 11) | (t.tm_min << 5) | (min(t.tm_sec, 59) // 2)
    return date, clock


def _entry(name11: bytes, attr: int, nt_flags: int, cluster: int, size: int,
           stamp: tuple[int, int]) -> bytes:
    date, clock = stamp
    return struct.pack("<11sBBBHHHHHHHI", name11, attr, nt_flags, 0, clock, date, date,
                       0, clock, date, cluster, size)


def _label_bytes(label: str) -> bytes:
    text = label.upper().encode("ascii", "replace")[:11]
    return text.ljust(11) if text else b"NO NAME    "


def _label_entry(label: str, stamp: tuple[int, int]) -> bytes:
    return _entry(_label_bytes(label), _ATTR_VOLUME_ID, 0, 0, 0, stamp)


def _entries(node: _Node, stamp: tuple[int, int]) -> list[bytes]:
    out = []
    for child in (node.children or {}).values():
        name11, flags = _short_name(child.name)
        attr = _ATTR_DIRECTORY if child.is_dir else _ATTR_ARCHIVE
        size = 0 if child.is_dir else len(child.data)
        out.append(_entry(name11, attr, flags, child.first_cluster, size, stamp))
    return out


def _cluster_offset(g: _Geometry, cluster: int) -> int:
    return g.data_offset + (cluster - 2) * g.cluster_bytes


def _write_tree(image: bytearray, node: _Node, root: _Node, g: _Geometry,
                stamp: tuple[int, int]) -> None:
    for child in (node.children or {}).values():
        start = _cluster_offset(g, child.first_cluster) if child.cluster_count else 0
        span = child.cluster_count * g.cluster_bytes
        if child.is_dir:
            # "." points at itself, ".." at the parent (cluster 0 for the root).
            parent_cluster = 0 if node is root else node.first_cluster
            body = [_entry(b".          ", _ATTR_DIRECTORY, 0, child.first_cluster, 0, stamp),
                    _entry(b"..         ", _ATTR_DIRECTORY, 0, parent_cluster, 0, stamp)]
            _put(image, start, b"".join(body + _entries(child, stamp)), span)
            _write_tree(image, child, root, g, stamp)
        elif span:
            _put(image, start, child.data, span)


def _put(image: bytearray, offset: int, data: bytes, room: int) -> None:
    if len(data) > room:
        raise BuildError("FAT layout error: data larger than its clusters")
    image[offset:offset + len(data)] = data
