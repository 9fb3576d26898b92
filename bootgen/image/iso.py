"""Assemble the BIOS + UEFI hybrid ISO with pycdlib.

ISO 9660 contents (Rock Ridge names):
    /boot/stub.elf               the multiboot image
    /boot/grub/eltorito.img      GRUB i386-pc-eltorito core: El Torito entry 1 (BIOS, no emulation)
    /boot/grub/i386-pc/*.mod     GRUB modules the BIOS core loads with insmod (see grub.py)
    /boot/grub/efi.img           FAT ESP with EFI/BOOT/BOOTX64.EFI and boot/stub.elf: entry 2 (EFI)
    /boot/grub/boot.cat          El Torito boot catalog
System area: GRUB's hybrid MBR with one 0xEF partition over efi.img (see hybrid.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pycdlib
import pycdlib.dates
import pycdlib.headervd
import pycdlib.pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from ..errors import BuildError, UsageError
from ..files import write_atomically
from . import fat, grub, hybrid
from .elf import find_multiboot2_header

STUB_PATH = "/boot/stub.elf"          # same path on the ISO and in the ESP
# Dates when neither the caller nor SOURCE_DATE_EPOCH sets one: 1980-01-01T00:00:00Z, the
# earliest date FAT can store, so the ISO and the ESP carry the same time.
DEFAULT_EPOCH = 315_532_800
VOLUME_ID = "BOOTGEN"

_CORE_ISO, _CORE_RR = "/BOOT/GRUB/ELTORITO.IMG;1", "eltorito.img"
_ESP_ISO, _ESP_RR = "/BOOT/GRUB/EFI.IMG;1", "efi.img"
_CATALOG_ISO, _CATALOG_RR = "/BOOT/GRUB/BOOT.CAT;1", "boot.cat"
_STUB_ISO, _STUB_RR = "/BOOT/STUB.ELF;1", "stub.elf"
_MODULES_ISO, _MODULES_RR = "/BOOT/GRUB/I386_PC", grub.BIOS.name


@dataclass(frozen=True)
class IsoConfig:
    elf: Path                               # the multiboot ELF to boot
    output: Path                            # written atomically (temp file + os.replace)
    cmdline: str = ""                       # the stub's multiboot command line
    source_date_epoch: int | None = None    # default: $SOURCE_DATE_EPOCH, else DEFAULT_EPOCH
    cache_dir: Path | None = None           # cache of GRUB core images


@dataclass(frozen=True)
class IsoResult:
    path: Path
    size: int                               # bytes


def build_iso(config: IsoConfig) -> IsoResult:
    """Build the hybrid ISO described by config; returns its path and size."""
    elf = _read_elf(config.elf)
    epoch = resolve_epoch(config.source_date_epoch)
    tools = grub.locate()
    core = grub.make_core_image(tools, grub.BIOS, grub.embedded_config(STUB_PATH, config.cmdline, grub.BIOS),
                                config.cache_dir)
    modules = grub.loaded_module_files(tools, grub.BIOS)
    has_multiboot2 = find_multiboot2_header(elf) is not None
    efi_app = grub.make_core_image(tools, grub.EFI, grub.embedded_config(STUB_PATH, config.cmdline, grub.EFI,
                                                                         has_multiboot2), config.cache_dir)
    mbr_code = grub.boot_hybrid_mbr(tools)
    esp = fat.make_fat_image({"EFI/BOOT/BOOTX64.EFI": efi_app, STUB_PATH.lstrip("/"): elf},
                             fat.FatOptions(epoch=epoch))
    image = assemble(elf, core, esp, mbr_code, epoch, modules)
    write_atomically(config.output, image)
    return IsoResult(config.output, len(image))


def resolve_epoch(value: int | None) -> int:
    """The timestamp for every date in the image (reproducible-builds.org SOURCE_DATE_EPOCH)."""
    if value is None:
        env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        if not env:
            return DEFAULT_EPOCH
        try:
            value = int(env)
        except ValueError as exc:
            raise UsageError(f"SOURCE_DATE_EPOCH is not an integer: {env!r}") from exc
    if not 0 <= value < 1 << 32:
        raise UsageError(f"source date epoch out of range: {value}")
    return value


def assemble(elf: bytes, core: bytes, esp: bytes, mbr_code: bytes, epoch: int,
             modules: dict[str, bytes]) -> bytes:
    """The whole image as bytes: pycdlib's ISO, then the MBR, then padding.
    modules (file name -> contents) go into /boot/grub/i386-pc."""
    core_stream = io.BytesIO(core)
    try:
        with pinned_clock(epoch):
            iso = _new_iso(elf, core_stream, esp, modules)
            layout = _layout(iso, len(core), len(esp))
            # Patch in place (same length, so the layout holds); pycdlib reads the
            # stream only when writing.
            with core_stream.getbuffer() as view:
                view[:] = hybrid.patch_core_image(core, layout)
            out = io.BytesIO()
            iso.write_fp(out)
            iso.close()
    except PyCdlibException as exc:
        raise BuildError(f"ISO assembly failed: {exc}") from exc
    data = bytearray(out.getvalue())
    _check_pinned_dates(data, epoch)
    if any(data[:hybrid.SECTOR]):
        raise BuildError("pycdlib wrote into the system area; cannot install the MBR")
    size = hybrid.padded_size(len(data))
    data += bytes(size - len(data))
    data[:hybrid.SECTOR] = hybrid.make_mbr(mbr_code, layout, size)
    return bytes(data)


def _check_pinned_dates(data: bytes | bytearray, epoch: int) -> None:
    """Guard against a pycdlib that no longer reads the clock through `time`:
    the PVD creation and modification dates (ECMA-119 8.4.26-27) must be the epoch.
    pycdlib writes time 0 as "not specified" (sixteen '0' digits, offset 0; 8.4.26.1)."""
    if epoch == 0:
        expected = b"0" * 16 + b"\0"
    else:
        expected = time.strftime("%Y%m%d%H%M%S", time.gmtime(epoch)).encode() + b"00\0"
    pvd = 16 * hybrid.BLOCK
    if data[pvd + 813:pvd + 830] != expected or data[pvd + 830:pvd + 847] != expected:
        raise BuildError("pycdlib did not take the pinned date; the ISO would not be reproducible")


def _new_iso(elf: bytes, core: io.BytesIO, esp: bytes, modules: dict[str, bytes]) -> pycdlib.PyCdlib:
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, vol_ident=VOLUME_ID, sys_ident="", rock_ridge="1.09",
            app_ident_str="BOOTGEN")
    iso.add_directory("/BOOT", rr_name="boot")
    iso.add_directory("/BOOT/GRUB", rr_name="grub")
    files = [(core, _CORE_ISO, _CORE_RR), (io.BytesIO(esp), _ESP_ISO, _ESP_RR),
             (io.BytesIO(elf), _STUB_ISO, _STUB_RR)]
    if modules:
        iso.add_directory(_MODULES_ISO, rr_name=_MODULES_RR)
        for name, iso_name in level1_names(sorted(modules)).items():
            files.append((io.BytesIO(modules[name]), f"{_MODULES_ISO}/{iso_name}", name))
    for stream, iso_path, rr_name in files:
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        iso.add_fp(stream, size, iso_path, rr_name=rr_name, file_mode=0o100444)
    # El Torito 1.0: the initial entry is the BIOS one; no emulation, load 4 sectors
    # (cdboot.img), as grub-mkrescue does (-boot-load-size 4).
    iso.add_eltorito(_CORE_ISO, bootcatfile=_CATALOG_ISO, rr_bootcatname=_CATALOG_RR,
                     boot_load_size=4)
    # Second section, platform 0xEF (UEFI spec, "ISO-9660 and El Torito"): the FAT image.
    iso.add_eltorito(_ESP_ISO, bootcatfile=_CATALOG_ISO, rr_bootcatname=_CATALOG_RR, efi=True)
    return iso


def level1_names(names: list[str]) -> dict[str, str]:
    """Unique ISO 9660 level 1 names ("NAME8.EXT;1", ECMA-119 7.5) for Rock Ridge
    names; GRUB reads the Rock Ridge ones."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        stem, _, ext = name.rpartition(".") if "." in name else (name, "", "")
        stem = re.sub(r"[^A-Z0-9_]", "_", stem.upper())[:8] or "_"
        ext = re.sub(r"[^A-Z0-9_]", "_", ext.upper())[:3]
        candidate, n = stem, 0
        while f"{candidate}.{ext}" in used:
            n += 1
            candidate = f"{stem[:8 - len(str(n))]}{n}"
        used.add(f"{candidate}.{ext}")
        out[name] = f"{candidate}.{ext};1"
    return out


def _layout(iso: pycdlib.PyCdlib, core_size: int, esp_size: int) -> hybrid.Layout:
    def block(path: str) -> int:
        return int(iso.get_record(iso_path=path).extent_location())

    return hybrid.Layout(pvd_block=16, core_block=block(_CORE_ISO), core_size=core_size,
                         esp_block=block(_ESP_ISO), esp_size=esp_size)


# pycdlib stamps directory records, Rock Ridge TF entries and volume descriptors
# with time.time() rendered by time.localtime(). It reads both through the `time`
# name of these modules; for the duration of a build they see a clock stopped at
# the epoch and UTC as the local zone (GMT offset 0).
_CLOCK_USERS = (pycdlib.dates, pycdlib.headervd, pycdlib.pycdlib)
_clock_lock = threading.Lock()


@contextlib.contextmanager
def pinned_clock(epoch: int) -> Iterator[None]:
    """Make pycdlib date everything at epoch, in UTC."""
    fixed = types.SimpleNamespace(
        **{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})
    fixed.time = lambda: float(epoch)
    fixed.localtime = lambda secs=None: time.gmtime(epoch if secs is None else secs)
    with _clock_lock:
        saved = [module.time for module in _CLOCK_USERS]
        for module in _CLOCK_USERS:
            module.time = fixed  # type: ignore[attr-defined]
        try:
            yield
        finally:
            for module, original in zip(_CLOCK_USERS, saved, strict=True):
                module.time = original  # type: ignore[attr-defined]


def _read_elf(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise UsageError(f"stub ELF not found: {path}") from exc
    except OSError as exc:
        raise UsageError(f"cannot read stub ELF {path}: {exc.strerror}") from exc
    if data[:4] != b"\x7fELF":
        raise UsageError(f"{path} is not an ELF file")
    return data
