"""Tests for the hybrid ISO builder: unit tests, image structure, and boots under QEMU.

Boot matrix (tiny multiboot ELF from fixtures_elf, QEMU TCG):
    SeaBIOS + CD, SeaBIOS + raw disk (the dd'ed USB stick), OVMF + CD, OVMF + raw disk,
    and OVMF + raw disk with the El Torito record spoiled, which forces the firmware
    through the MBR's ESP partition (OVMF prefers El Torito when a disk has it).
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pycdlib
import pytest

from bootgen.errors import BuildError, ToolMissing, UsageError
from bootgen.image import fat, grub, hybrid, iso

from fixtures_elf import MARKER, QEMU_EXIT_STATUS, build_tiny_elf, tools_available

REPO = Path(__file__).resolve().parents[1]
CMDLINE = "serial=0x3f8  probe=$HOME;x inject=ud2"      # $ and ; must reach the stub untouched
EXPECTED_CMDLINE = b"serial=0x3f8 probe=$HOME;x inject=ud2"
EPOCH = 1_700_000_000
MiB = 1 << 20
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS.fd")
QEMU = shutil.which("qemu-system-x86_64")
MTOOLS = shutil.which("mcopy") and shutil.which("minfo")


def _grub_missing() -> str | None:
    try:
        tools = grub.locate()
        grub.check_platform(tools, grub.BIOS)
        grub.check_platform(tools, grub.EFI)
    except ToolMissing as exc:
        return str(exc)
    return None


_GRUB_REASON = _grub_missing()
needs_grub = [pytest.mark.grub,
              pytest.mark.skipif(_GRUB_REASON is not None, reason=_GRUB_REASON or ""),
              pytest.mark.skipif(tools_available() is not None, reason=tools_available() or "")]
needs_qemu = [pytest.mark.qemu,
              pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed")]
needs_mtools = pytest.mark.skipif(not MTOOLS, reason="mtools is not installed")


def _apply(marks):  # type: ignore[no-untyped-def]
    def decorate(fn):  # type: ignore[no-untyped-def]
        for mark in marks:
            fn = mark(fn)
        return fn
    return decorate


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def tiny_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = tools_available()
    if reason:
        pytest.skip(reason)
    return build_tiny_elf(tmp_path_factory.mktemp("elf"))


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, tiny_elf: Path) -> iso.IsoResult:
    if _GRUB_REASON:
        pytest.skip(_GRUB_REASON)
    out = tmp_path_factory.mktemp("iso") / "image.iso"
    cache = tmp_path_factory.mktemp("grub-cache")
    return iso.build_iso(iso.IsoConfig(elf=tiny_elf, output=out, cmdline=CMDLINE,
                                       source_date_epoch=EPOCH, cache_dir=cache))


def _read_iso_file(path: Path, rr_path: str) -> bytes:
    image = pycdlib.PyCdlib()
    image.open(str(path))
    try:
        buf = io.BytesIO()
        image.get_file_from_iso_fp(buf, rr_path=rr_path)
        return buf.getvalue()
    finally:
        image.close()


def _extent(path: Path, rr_path: str) -> int:
    image = pycdlib.PyCdlib()
    image.open(str(path))
    try:
        return int(image.get_record(rr_path=rr_path).extent_location())
    finally:
        image.close()


# --------------------------------------------------------------------------- grub.py

def test_default_module_dir_comes_from_grub_mkimage_help() -> None:
    text = "  -d, --directory=DIR  use images\n        [default=/opt/grub/lib/<platform>]\n"
    assert grub._default_dir_pattern(text) == "/opt/grub/lib/<platform>"
    assert grub._default_dir_pattern("no default here") == grub.DEBIAN_MODULE_ROOT


def test_embedded_config_boots_stub_with_quoted_words() -> None:
    cfg = grub.embedded_config("/boot/stub.elf", CMDLINE, grub.EFI)
    lines = cfg.splitlines()
    assert lines[0] == "serial --unit=0 --speed=115200"
    assert "terminal_output serial console" in lines
    assert lines[-2:] == ["multiboot2 /boot/stub.elf 'serial=0x3f8' 'probe=$HOME;x' 'inject=ud2'",
                          "boot"]
    assert grub.embedded_config("/s", "", grub.EFI).splitlines()[-2] == "multiboot2 /s"
    assert grub.embedded_config("/s", "", grub.BIOS).splitlines()[-2] == "multiboot /s"
    # An ELF without a multiboot2 header (bootgen iso --image) is loaded with multiboot on UEFI too.
    assert grub.embedded_config("/s", "", grub.EFI, multiboot2=False).splitlines()[-2] == "multiboot /s"


def test_bios_config_loads_each_module_before_its_first_command() -> None:
    lines = grub.embedded_config("/boot/stub.elf", "", grub.BIOS).splitlines()
    assert not set(grub.BIOS.modules) & set(grub.BIOS.loaded_modules)
    for module, command in (("serial", "serial "), ("terminal", "terminal_output "),
                            ("multiboot", "multiboot "), ("boot", "boot")):
        first_use = next(i for i, line in enumerate(lines) if line.startswith(command))
        assert lines.index(f"insmod {module}") < first_use


def test_dependency_closure_follows_moddep() -> None:
    deps = grub.parse_moddep("multiboot: relocator net\nrelocator: mmap\nmmap: boot\n"
                             "net: boot bufio\nboot:\nbufio:\nnormal: net\n")
    assert deps["boot"] == ()
    assert grub.dependency_closure(deps, ("multiboot",)) == {
        "multiboot", "relocator", "mmap", "boot", "net", "bufio"}
    assert grub.dependency_closure(deps, ("unknown",)) == {"unknown"}


@_apply(needs_grub)
def test_loaded_module_files_are_the_closure_less_the_core() -> None:
    tools = grub.locate()
    files = grub.loaded_module_files(tools, grub.BIOS)
    directory = grub.check_platform(tools, grub.BIOS)
    deps = grub.parse_moddep((directory / "moddep.lst").read_text())
    wanted = grub.dependency_closure(deps, grub.BIOS.loaded_modules) - grub.dependency_closure(
        deps, grub.BIOS.modules)
    assert set(files) == {f"{name}.mod" for name in wanted}
    assert "multiboot.mod" in files and "biosdisk.mod" not in files
    assert files["multiboot.mod"] == (directory / "multiboot.mod").read_bytes()


def test_missing_dependency_module_is_tool_missing(tmp_path: Path) -> None:
    directory = tmp_path / "i386-pc"
    directory.mkdir()
    present = ["kernel.img", "cdboot.img", "diskboot.img", "boot_hybrid.img",
               *(f"{m}.mod" for m in (*grub.BIOS.modules, *grub.BIOS.loaded_modules))]
    for name in present:
        (directory / name).write_bytes(b"x")
    (directory / "moddep.lst").write_text("multiboot: relocator\nrelocator:\n")
    tools = grub.Grub(Path("/bin/true"), "grub-mkimage (GRUB) test", str(tmp_path / "<platform>"))
    with pytest.raises(ToolMissing, match="relocator.mod"):
        grub.loaded_module_files(tools, grub.BIOS)
    (directory / "relocator.mod").write_bytes(b"r")
    files = grub.loaded_module_files(tools, grub.BIOS)
    assert files["relocator.mod"] == b"r" and "biosdisk.mod" not in files


def test_level1_names_are_unique_and_legal() -> None:
    names = ["video.mod", "video_fb.mod", "video_bochs.mod", "video_cirrus.mod",
             "priority_queue.mod", "part-msdos.mod", "a.b.c"]
    out = iso.level1_names(names)
    assert len(set(out.values())) == len(names)
    for value in out.values():
        stem, ext = value.removesuffix(";1").split(".")
        assert 1 <= len(stem) <= 8 and len(ext) <= 3
        assert all(ch.isupper() or ch.isdigit() or ch == "_" for ch in stem + ext)
    assert out["video.mod"] == "VIDEO.MOD;1" and out["part-msdos.mod"] == "PART_MSD.MOD;1"


@pytest.mark.parametrize("bad", ["a'b", 'a"b', "a\\b", "a\nboot", "tab\there", "caf\u00e9"])
def test_cmdline_characters_grub_would_alter_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        grub.embedded_config("/boot/stub.elf", bad, grub.BIOS)


def test_missing_grub_mkimage_is_tool_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grub.shutil, "which", lambda name: None)
    with pytest.raises(ToolMissing) as info:
        grub.locate()
    assert "\n" not in str(info.value)


def test_missing_module_dir_is_tool_missing(tmp_path: Path) -> None:
    tools = grub.Grub(Path("/bin/true"), "grub-mkimage (GRUB) test", str(tmp_path / "<platform>"))
    with pytest.raises(ToolMissing, match="i386-pc"):
        grub.check_platform(tools, grub.BIOS)


@_apply(needs_grub)
def test_core_image_cache_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = grub.locate()
    cfg = grub.embedded_config("/boot/stub.elf", "x=1", grub.BIOS)
    first = grub.make_core_image(tools, grub.BIOS, cfg, tmp_path)
    cached = list(tmp_path.iterdir())
    assert len(cached) == 1 and cached[0].read_bytes() == first

    def no_tool(*args: object) -> bytes:
        raise AssertionError("grub-mkimage ran despite a cached image")

    monkeypatch.setattr(grub, "_mkimage", no_tool)
    assert grub.make_core_image(tools, grub.BIOS, cfg, tmp_path) == first
    with pytest.raises(AssertionError):                  # another config is another key
        grub.make_core_image(tools, grub.BIOS, cfg + "\n", tmp_path)


# --------------------------------------------------------------------------- fat.py

def _fat_files() -> dict[str, bytes]:
    payload = bytes(range(256)) * 1700                     # 435200 bytes, spans many clusters
    return {"EFI/BOOT/BOOTX64.EFI": payload, "boot/stub.elf": b"\x7fELF" + b"x" * 3000,
            "boot/empty": b""}


def test_fat_image_geometry_and_reproducibility() -> None:
    files = _fat_files()
    image = fat.make_fat_image(files, fat.FatOptions(epoch=EPOCH))
    assert image == fat.make_fat_image(files, fat.FatOptions(epoch=EPOCH))
    assert image != fat.make_fat_image(files, fat.FatOptions(epoch=EPOCH + 86400))
    assert len(image) % 2048 == 0 and image[510:512] == b"\x55\xaa"
    (bps, spc, reserved, nfats, root_entries, total, media, fat_sectors) = struct.unpack_from(
        "<HBHBHHBH", image, 11)
    assert (bps, reserved, nfats, media) == (512, 1, 2, 0xF8)
    assert total * 512 == len(image)
    data_start = reserved + nfats * fat_sectors + root_entries * 32 // 512
    clusters = (total - data_start) // spc
    assert clusters < 4085                                 # fatgen103: FAT12
    assert struct.unpack_from("<I", image, 0x27)[0] == fat.FatOptions().volume_id
    assert image[0x36:0x3E] == b"FAT12   "


def test_fat_dates_are_utc_and_clamped() -> None:
    assert fat._dos_timestamp(0) == ((1 << 5) | 1, 0)               # 1980-01-01 00:00:00
    date, clock = fat._dos_timestamp(EPOCH)                          # 2023-11-14 22:13:20 UTC
    assert date == ((2023 - 1980) << 9) | (11 << 5) | 14
    assert clock == (22 << 11) | (13 << 5) | 10


@pytest.mark.parametrize("name", ["TOOLONGNAME.EFI", "A.LONG", "Mixed.EFI", "SP ACE", "X."])
def test_fat_rejects_names_that_need_long_entries(name: str) -> None:
    with pytest.raises(BuildError):
        fat.make_fat_image({name: b"1"})


@needs_mtools
def test_fat_image_reads_back_with_mtools(tmp_path: Path) -> None:
    files = _fat_files()
    img = tmp_path / "esp.img"
    img.write_bytes(fat.make_fat_image(files, fat.FatOptions(epoch=EPOCH)))
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "0"}
    for path, data in files.items():
        out = tmp_path / "out.bin"
        subprocess.run(["mcopy", "-n", "-i", str(img), f"::/{path}", str(out)],
                       check=True, capture_output=True, env=env)
        assert out.read_bytes() == data, path
    listing = subprocess.run(["mdir", "-i", str(img), "::/EFI/BOOT"], check=True,
                             capture_output=True, text=True, env=env).stdout
    assert "2023-11-14" in listing and "BOOTX64" in listing


# --------------------------------------------------------------------------- hybrid.py

def _fake_core(size: int = 6000) -> bytes:
    data = bytearray(size)
    struct.pack_into("<QHH", data, hybrid.CORE_BLOCKLIST, 2, 7, 0x820)
    data[100:110] = b"0123456789"
    return bytes(data)


def test_core_patch_matches_xorriso_grub2_boot_info() -> None:
    core = _fake_core()
    layout = hybrid.Layout(pvd_block=16, core_block=250, core_size=len(core),
                           esp_block=30, esp_size=4096)
    out = hybrid.patch_core_image(core, layout)
    assert len(out) == len(core)
    assert struct.unpack_from("<QHH", out, 2548) == (250 * 4 + 5, 7, 0x820)
    pvd, lba, length, csum = struct.unpack_from("<IIII", out, 8)
    assert (pvd, lba, length) == (16, 250, len(core))
    words = struct.unpack(f"<{(len(out) - 64) // 4}I", out[64:64 + (len(out) - 64) // 4 * 4])
    assert csum == sum(words) & 0xFFFFFFFF
    with pytest.raises(BuildError):
        hybrid.patch_core_image(bytes(6000), layout)       # no diskboot block list


def test_mbr_has_core_address_and_single_esp_partition() -> None:
    boot = bytearray(512)
    boot[0:2] = b"\xeb\x63"
    boot[510:] = b"\x55\xaa"
    layout = hybrid.Layout(pvd_block=16, core_block=250, core_size=6000,
                           esp_block=29, esp_size=876 * 512)
    mbr = hybrid.make_mbr(bytes(boot), layout, 2 * MiB)
    assert mbr[:2] == b"\xeb\x63" and mbr[510:] == b"\x55\xaa"
    assert struct.unpack_from("<Q", mbr, 0x1B0)[0] == 250 * 4 + 4
    status, ptype = mbr[0x1BE], mbr[0x1BE + 4]
    first, count = struct.unpack_from("<II", mbr, 0x1BE + 8)
    assert (status, ptype, first, count) == (0x80, 0xEF, 116, 876)
    assert mbr[0x1CE:0x1FE] == bytes(48)
    # CHS with 64 heads x 32 sectors, as xorriso writes: LBA 991 -> C0 H30 S32.
    assert mbr[0x1BE + 5:0x1BE + 8] == bytes([30, 32, 0])
    with pytest.raises(BuildError):
        hybrid.make_mbr(bytes(boot), layout, 100 * 512)    # partition past the end


def test_padding() -> None:
    for size in (2048, 700_000, 1_048_576):
        padded = hybrid.padded_size(size)
        assert padded % hybrid.PAD_ALIGN == 0 and padded - size >= hybrid.MIN_PAD


# --------------------------------------------------------------------------- iso.py units

def test_epoch_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert iso.resolve_epoch(None) == iso.DEFAULT_EPOCH
    assert iso.resolve_epoch(5) == 5
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234")
    assert iso.resolve_epoch(None) == 1234
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(UsageError):
        iso.resolve_epoch(None)


def test_pinned_clock_is_scoped() -> None:
    import pycdlib.dates

    with iso.pinned_clock(EPOCH):
        assert pycdlib.dates.time.time() == EPOCH
        assert pycdlib.dates.time.localtime(EPOCH) == time.gmtime(EPOCH)
    assert pycdlib.dates.time is time


def test_missing_elf_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        iso.build_iso(iso.IsoConfig(elf=tmp_path / "nope.elf", output=tmp_path / "x.iso"))
    assert not (tmp_path / "x.iso").exists()


# --------------------------------------------------------------------------- built image

@_apply(needs_grub)
def test_size_within_target(built: iso.IsoResult) -> None:
    assert built.size == built.path.stat().st_size
    assert built.size <= 2 * MiB
    assert not list(built.path.parent.glob(".*.tmp"))         # no temp file left behind


@_apply(needs_grub)
def test_el_torito_entries(built: iso.IsoResult) -> None:
    image = pycdlib.PyCdlib()
    image.open(str(built.path))
    try:
        catalog = image.eltorito_boot_catalog
        assert catalog is not None
        bios = catalog.initial_entry
        assert catalog.validation_entry.platform_id == 0
        assert bios.boot_indicator == 0x88 and bios.boot_media_type == 0
        assert bios.sector_count == 4
        assert len(catalog.sections) == 1
        section = catalog.sections[0]
        assert section.platform_id == 0xEF
        efi = section.section_entries[0]
        assert efi.boot_indicator == 0x88 and efi.boot_media_type == 0
        core_block = image.get_record(rr_path="/boot/grub/eltorito.img").extent_location()
        esp_record = image.get_record(rr_path="/boot/grub/efi.img")
        assert bios.load_rba == core_block
        assert efi.load_rba == esp_record.extent_location()
        assert efi.sector_count * 512 == esp_record.get_data_length()
    finally:
        image.close()


@_apply(needs_grub)
def test_bios_modules_are_on_the_iso_under_their_grub_names(built: iso.IsoResult) -> None:
    tools = grub.locate()
    modules = grub.loaded_module_files(tools, grub.BIOS)
    for name, data in modules.items():                # $prefix/i386-pc/NAME.mod, read by insmod
        assert _read_iso_file(built.path, f"/boot/grub/i386-pc/{name}") == data


@_apply(needs_grub)
def test_hybrid_mbr_points_at_core_and_esp(built: iso.IsoResult) -> None:
    data = built.path.read_bytes()
    tools = grub.locate()
    boot_hybrid = (grub.check_platform(tools, grub.BIOS) / "boot_hybrid.img").read_bytes()
    core_block = _extent(built.path, "/boot/grub/eltorito.img")
    esp_block = _extent(built.path, "/boot/grub/efi.img")
    esp = _read_iso_file(built.path, "/boot/grub/efi.img")
    assert data[:0x1B0] == boot_hybrid[:0x1B0]
    assert data[510:512] == b"\x55\xaa"
    assert struct.unpack_from("<Q", data, 0x1B0)[0] == core_block * 4 + 4
    core_at = core_block * 2048
    assert struct.unpack_from("<Q", data, core_at + 2548)[0] == core_block * 4 + 5
    assert struct.unpack_from("<II", data, core_at + 8) == (16, core_block)
    first, count = struct.unpack_from("<II", data, 0x1BE + 8)
    assert data[0x1BE + 4] == 0xEF
    assert first * 512 == esp_block * 2048 and count * 512 == len(esp)
    assert data[first * 512:first * 512 + len(esp)] == esp
    assert data[0x1CE:0x1FE] == bytes(48)
    assert not any(data[-hybrid.MIN_PAD:])                    # zero padding at the end


@_apply(needs_grub)
def test_all_iso_dates_are_the_epoch(built: iso.IsoResult) -> None:
    expected = time.strftime("%Y%m%d%H%M%S", time.gmtime(EPOCH)).encode() + b"00\x00"
    pvd = built.path.read_bytes()[16 * 2048:17 * 2048]
    assert pvd[1:6] == b"CD001"
    assert pvd[813:830] == expected and pvd[830:847] == expected      # creation, modification
    tm = time.gmtime(EPOCH)
    want = (tm.tm_year - 1900, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, 0)
    image = pycdlib.PyCdlib()
    image.open(str(built.path))
    try:
        seen = 0
        for path in ("/", "/BOOT", "/BOOT/GRUB", "/BOOT/GRUB/I386_PC"):
            for rec in image.list_children(iso_path=path):
                d = rec.date
                assert (d.years_since_1900, d.month, d.day_of_month, d.hour, d.minute,
                        d.second, d.gmtoffset) == want
                seen += 1
        assert seen >= 10
    finally:
        image.close()


@pytest.mark.parametrize("epoch", [0, None])
@_apply(needs_grub)
def test_epoch_zero_and_default(epoch: int | None, tiny_elf: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    out = tmp_path / "e.iso"
    iso.build_iso(iso.IsoConfig(elf=tiny_elf, output=out, source_date_epoch=epoch))
    expected = time.gmtime(iso.DEFAULT_EPOCH if epoch is None else epoch)
    image = pycdlib.PyCdlib()
    image.open(str(out))
    try:
        d = image.get_record(rr_path="/boot/stub.elf").date
        assert (d.years_since_1900 + 1900, d.month, d.day_of_month, d.gmtoffset) == \
            (expected.tm_year, expected.tm_mon, expected.tm_mday, 0)
    finally:
        image.close()


@_apply(needs_grub)
def test_stub_in_iso_is_multiboot(built: iso.IsoResult, tiny_elf: Path, tmp_path: Path) -> None:
    extracted = tmp_path / "stub.elf"
    extracted.write_bytes(_read_iso_file(built.path, "/boot/stub.elf"))
    assert extracted.read_bytes() == tiny_elf.read_bytes()
    grub_file = shutil.which("grub-file")
    if grub_file is None:
        pytest.skip("grub-file is not installed")
    done = subprocess.run([grub_file, "--is-x86-multiboot", str(extracted)], capture_output=True)
    assert done.returncode == 0
    not_elf = tmp_path / "not.elf"
    not_elf.write_bytes(b"\x7fELF" + bytes(100))
    assert subprocess.run([grub_file, "--is-x86-multiboot", str(not_elf)],
                          capture_output=True).returncode != 0


@_apply([*needs_grub, needs_mtools])
def test_esp_holds_grub_efi_and_stub(built: iso.IsoResult, tiny_elf: Path, tmp_path: Path) -> None:
    esp = tmp_path / "efi.img"
    esp.write_bytes(_read_iso_file(built.path, "/boot/grub/efi.img"))
    for path, check in (("EFI/BOOT/BOOTX64.EFI", lambda b: b[:2] == b"MZ"),
                        ("boot/stub.elf", lambda b: b == tiny_elf.read_bytes())):
        out = tmp_path / "x"
        subprocess.run(["mcopy", "-n", "-i", str(esp), f"::/{path}", str(out)],
                       check=True, capture_output=True)
        assert check(out.read_bytes()), path


_BUILD_SNIPPET = """
import sys
from pathlib import Path
from bootgen.image.iso import IsoConfig, build_iso
build_iso(IsoConfig(elf=Path(sys.argv[1]), output=Path(sys.argv[2]), cmdline=sys.argv[3]))
"""


@_apply(needs_grub)
def test_reproducible_across_time_zone_cwd_and_path(built: iso.IsoResult, tiny_elf: Path,
                                                    tmp_path: Path) -> None:
    outputs = []
    for n, tz in enumerate(("UTC", "Pacific/Chatham")):   # +12:45/+13:45: no whole-hour offset
        cwd = tmp_path / f"cwd{n}"
        cwd.mkdir()
        out = tmp_path / f"out{n}" / "image.iso"
        out.parent.mkdir()
        env = {**os.environ, "TZ": tz, "SOURCE_DATE_EPOCH": str(EPOCH),
               "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-c", _BUILD_SNIPPET, str(tiny_elf), str(out), CMDLINE],
                       cwd=cwd, env=env, check=True, capture_output=True)
        outputs.append(out.read_bytes())
        time.sleep(1.1 if n == 0 else 0)                     # a different wall-clock second
    assert outputs[0] == outputs[1]
    assert outputs[0] == built.path.read_bytes()             # in-process, with a cache dir
    other = iso.build_iso(iso.IsoConfig(elf=tiny_elf, output=tmp_path / "other.iso",
                                        cmdline=CMDLINE, source_date_epoch=EPOCH + 1))
    assert other.path.read_bytes() != outputs[0]


# --------------------------------------------------------------------------- boots

@dataclass(frozen=True)
class Boot:
    firmware: str          # "seabios" | "ovmf"
    medium: str            # "cd" | "disk" | "disk-no-eltorito"


BOOTS = [Boot("seabios", "cd"), Boot("seabios", "disk"), Boot("ovmf", "cd"),
         Boot("ovmf", "disk"), Boot("ovmf", "disk-no-eltorito")]


def _spoil_el_torito(src: Path, dst: Path) -> None:
    """Copy with the El Torito boot record (block 17) renamed, so firmware ignores it."""
    data = bytearray(src.read_bytes())
    record = 17 * 2048
    assert data[record + 1:record + 6] == b"CD001" and data[record + 7:record + 30] == \
        b"EL TORITO SPECIFICATION"
    data[record + 7:record + 30] = b"NOT EL TORITO ANY MORE!"
    dst.write_bytes(data)


def _qemu_command(boot: Boot, image: Path, tmp: Path, serial: Path) -> list[str]:
    assert QEMU is not None
    cmd = [QEMU, "-accel", "tcg", "-display", "none", "-no-reboot", "-m", "256",
           "-serial", f"file:{serial}", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if boot.firmware == "ovmf":
        vars_copy = tmp / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, vars_copy)
        cmd += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,file={vars_copy}"]
    if boot.medium == "cd":
        cmd += ["-drive", f"file={image},media=cdrom,readonly=on"]
    else:
        cmd += ["-drive", f"file={image},format=raw,if=ide,snapshot=on"]
    return cmd


@pytest.mark.parametrize("boot", BOOTS, ids=lambda b: f"{b.firmware}-{b.medium}")
@_apply([*needs_grub, *needs_qemu])
def test_boot(boot: Boot, built: iso.IsoResult, tmp_path: Path) -> None:
    if boot.firmware == "ovmf" and not (OVMF_CODE.is_file() and OVMF_VARS.is_file()):
        pytest.skip("OVMF firmware (package ovmf) is not installed")
    image = built.path
    if boot.medium == "disk-no-eltorito":
        image = tmp_path / "no-eltorito.iso"
        _spoil_el_torito(built.path, image)
    serial = tmp_path / "serial.log"
    cmd = _qemu_command(boot, image, tmp_path, serial)
    timeout = 60 if boot.firmware == "ovmf" else 30
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no exit within {timeout} s; serial: {serial.read_bytes()[-400:]!r}")
    output = serial.read_bytes() if serial.exists() else b""
    assert done.returncode == QEMU_EXIT_STATUS, (done.returncode, done.stderr[-400:],
                                                 output[-400:])
    assert MARKER + b"\n" in output
    assert b"CMDLINE=[" + EXPECTED_CMDLINE + b"]" in output


@_apply([*needs_grub, *needs_qemu])
def test_a_multiboot1_only_elf_still_boots_on_uefi(tmp_path: Path) -> None:
    """GRUB-EFI's multiboot2 would refuse it: the ISO builder sees the missing header and uses multiboot."""
    if not (OVMF_CODE.is_file() and OVMF_VARS.is_file()):
        pytest.skip("OVMF firmware (package ovmf) is not installed")
    if (why := tools_available()) is not None:
        pytest.skip(why)
    from bootgen.image.elf import find_multiboot2_header
    v1_only = build_tiny_elf(tmp_path / "elf", multiboot2=False)
    assert find_multiboot2_header(v1_only.read_bytes()) is None
    assert find_multiboot2_header(build_tiny_elf(tmp_path / "both").read_bytes()) is not None
    image = iso.build_iso(iso.IsoConfig(elf=v1_only, output=tmp_path / "v1.iso", cmdline=CMDLINE)).path
    serial = tmp_path / "serial.log"
    done = subprocess.run(_qemu_command(Boot("ovmf", "cd"), image, tmp_path, serial), capture_output=True,
                          timeout=60)
    output = serial.read_bytes() if serial.exists() else b""
    assert done.returncode == QEMU_EXIT_STATUS, output[-400:]
    assert b"FLAGS=" in output and b"MB2" not in output  # loaded as multiboot v1
    assert b"CMDLINE=[" + EXPECTED_CMDLINE + b"]" in output
