"""Drive grub-mkimage: GRUB core images with an embedded config that boots the stub.

GRUB's kernel runs an embedded config (``-c``) line by line with its rescue
parser (grub-core/kernel/main.c, grub_load_config), which is enough for
``insmod``, ``serial``, ``terminal_*``, ``multiboot`` and ``boot``; ``normal`` never
runs, so there is no menu and no timeout.

grub-mkimage compresses the i386-pc core with LZMA, and unpacking it was most of
GRUB's start-up: about 150 emulated instructions a byte (Bochs), some 50 million
for a core holding ``multiboot`` and its dependencies (``normal`` and ``net``
among them, 360 KB). So the BIOS core holds only what reads the medium
(``biosdisk``, ``iso9660``); the rest is read uncompressed with ``insmod`` from
``$prefix/i386-pc`` on the ISO and linked, which costs a fifth of that. The
x86_64-efi image is not compressed and keeps every module inside.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError, ToolMissing, UsageError
from ..files import write_atomically

MKIMAGE = "grub-mkimage"
DEBIAN_MODULE_ROOT = "/usr/lib/grub/<platform>"   # grub-mkimage's default on Debian
# GRUB prepends the boot device ("(cd0)", "(hd0)") and loads modules from
# $prefix/<platform>/NAME.mod (grub-core/kern/dl.c, grub_dl_load).
PREFIX = "/boot/grub"

# Modules are named explicitly; grub-mkimage adds their dependencies (moddep.lst),
# and so does insmod (each module lists its own in a .moddeps section).
_COMMON_MODULES = ("serial", "terminal", "boot")


@dataclass(frozen=True)
class Platform:
    """One GRUB target: where its modules live and what image to make."""

    name: str               # module directory name, e.g. "i386-pc"
    image_format: str       # grub-mkimage -O value
    package: str            # the Debian package that installs the module directory
    modules: tuple[str, ...]           # inside the core image
    loaded_modules: tuple[str, ...] = ()  # loaded with insmod from $prefix/<name> on the medium
    boot_images: tuple[str, ...] = ()     # other files of the module directory the ISO needs
    loader: str = "multiboot"          # the GRUB command (and module) that loads an ELF with a multiboot2 header

    @property
    def required_files(self) -> tuple[str, ...]:
        """What the module directory must hold to build this platform's image."""
        return ("kernel.img", "moddep.lst", *(f"{m}.mod" for m in (*self.modules, *self.loaded_modules)),
                *self.boot_images)


# biosdisk/iso9660: read the stub (and the modules) from the CD, or from the whole
# USB disk (hd0).
BIOS = Platform(
    name="i386-pc",
    image_format="i386-pc-eltorito",   # cdboot.img + diskboot.img + compressed core
    package="grub-pc-bin",
    modules=("biosdisk", "iso9660"),
    loaded_modules=(*_COMMON_MODULES, "multiboot"),
    boot_images=("cdboot.img", "diskboot.img", "boot_hybrid.img"),
)
# UEFI: GRUB takes its root from the EFI device path of BOOTX64.EFI. Booted through
# El Torito (a CD, and OVMF even on a disk that carries El Torito) that is the whole
# medium, "cd0", read with iso9660; booted through the MBR's ESP partition (firmware
# that ignores El Torito on disks) it is "hd0,msdos1", read with fat. The stub sits
# at the same path in both file systems. Without efi_gop GRUB says "no suitable
# video mode found" and the multiboot info carries no framebuffer (flags bit 12).
# The stub is loaded with multiboot2 here: its information carries the EFI system
# table and the ACPI RSDP, which multiboot (v1) on UEFI has no way to pass; an ELF
# without a multiboot2 header (`bootgen iso --image`) gets multiboot.
EFI = Platform(
    name="x86_64-efi",
    image_format="x86_64-efi",
    package="grub-efi-amd64-bin",
    modules=("fat", "iso9660", "part_msdos", "efi_gop", *_COMMON_MODULES, "multiboot", "multiboot2"),
    loader="multiboot2",
)


@dataclass(frozen=True)
class Grub:
    """A located grub-mkimage and its version string."""

    mkimage: Path
    version: str
    default_dir_pattern: str   # e.g. "/usr/lib/grub/<platform>"

    def module_dir(self, platform: Platform) -> Path:
        return Path(self.default_dir_pattern.replace("<platform>", platform.name))


def locate() -> Grub:
    """Find grub-mkimage, or raise ToolMissing."""
    found = shutil.which(MKIMAGE)
    if found is None:
        raise ToolMissing(f"{MKIMAGE} not found; install GRUB's tools "
                          "(Debian: grub-pc-bin and grub-efi-amd64-bin)")
    tool = Path(found)
    version = _run([str(tool), "--version"], "query grub-mkimage version").strip()
    help_text = _run([str(tool), "--help"], "query grub-mkimage defaults")
    return Grub(tool, version, _default_dir_pattern(help_text))


def _default_dir_pattern(help_text: str) -> str:
    """The module directory grub-mkimage uses without -d ("[default=/usr/lib/grub/<platform>]")."""
    match = re.search(r"\[default=([^\]]*<platform>[^\]]*)\]", help_text)
    return match.group(1) if match else DEBIAN_MODULE_ROOT


def check_platform(grub: Grub, platform: Platform) -> Path:
    """The platform's module directory; ToolMissing if it or a needed module is absent."""
    directory = grub.module_dir(platform)
    missing = [name for name in platform.required_files if not (directory / name).is_file()]
    if missing:
        raise ToolMissing(f"GRUB {platform.name} modules missing in {directory} "
                          f"({', '.join(missing[:3])}); install {platform.package}")
    return directory


def boot_hybrid_mbr(grub: Grub) -> bytes:
    """GRUB's MBR for hybrid ISOs (the file xorriso's --grub2-mbr installs)."""
    data = (check_platform(grub, BIOS) / "boot_hybrid.img").read_bytes()
    if len(data) != 512 or data[510:] != b"\x55\xaa":
        raise BuildError("boot_hybrid.img is not a 512-byte MBR")
    return data


def quote_word(word: str) -> str:
    """Quote one argument for GRUB's parser: inside single quotes $ ; { } and spaces are literal."""
    return "'" + word.replace("'", "'\\''") + "'"


def embedded_config(stub_path: str, cmdline: str, platform: Platform, multiboot2: bool = True) -> str:
    """The config GRUB runs at start-up: the platform's loaded modules, serial and
    screen consoles, then load and boot the stub.

    GRUB 2.06 passes the multiboot arguments after the file name, joined by single
    spaces, as the command line (without the file name, unlike QEMU's -kernel), and
    puts a backslash before every quote and backslash in them
    (grub_create_loader_cmdline); so runs of spaces collapse, and quotes and
    backslashes are refused rather than silently changed.
    """
    check_cmdline(cmdline)
    args = " ".join(quote_word(word) for word in cmdline.split(" ") if word)
    command = platform.loader if multiboot2 else "multiboot"
    multiboot = f"{command} {stub_path} {args}".rstrip()
    return "\n".join([
        *(f"insmod {name}" for name in platform.loaded_modules),
        "serial --unit=0 --speed=115200",
        "terminal_input serial console",
        "terminal_output serial console",
        multiboot,
        "boot",
        "",
    ])


def check_cmdline(cmdline: str) -> None:
    """UsageError unless cmdline is printable ASCII without quotes or backslashes."""
    bad = sorted({ch for ch in cmdline if not " " <= ch <= "~" or ch in "'\"\\"})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        raise UsageError(f"the stub command line may hold printable ASCII without quotes "
                         f"or backslashes; found {shown}")


def loaded_module_files(grub: Grub, platform: Platform) -> dict[str, bytes]:
    """NAME.mod -> contents for every module insmod will read from the medium:
    the platform's loaded modules and their dependencies, less what the core holds."""
    directory = check_platform(grub, platform)
    deps = parse_moddep((directory / "moddep.lst").read_text())
    in_core = dependency_closure(deps, platform.modules)
    names = sorted(dependency_closure(deps, platform.loaded_modules) - in_core)
    files = {}
    for name in names:
        path = directory / f"{name}.mod"
        if not path.is_file():
            raise ToolMissing(f"GRUB module {path} missing; reinstall {platform.package}")
        files[f"{name}.mod"] = path.read_bytes()
    return files


def parse_moddep(text: str) -> dict[str, tuple[str, ...]]:
    """moddep.lst ("name: dep dep ...", one module a line) as a mapping."""
    deps: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name.strip():
            deps[name.strip()] = tuple(rest.split())
    return deps


def dependency_closure(deps: dict[str, tuple[str, ...]], names: tuple[str, ...]) -> set[str]:
    """names and everything they need, transitively."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(deps.get(name, ()))
    return seen


def make_core_image(grub: Grub, platform: Platform, config: str,
                    cache_dir: Path | None = None) -> bytes:
    """Run grub-mkimage (its output is reproducible), using cache_dir when given."""
    directory = check_platform(grub, platform)
    key = _cache_key(grub, platform, directory, config)
    cached = cache_dir / f"{platform.image_format}-{key}.img" if cache_dir else None
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    image = _mkimage(grub, platform, directory, config)
    if cached is not None:
        _store(cached, image)
    return image


def _mkimage(grub: Grub, platform: Platform, directory: Path, config: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="bootgen-grub-") as tmp:
        cfg = Path(tmp) / "embedded.cfg"
        out = Path(tmp) / "core.img"
        cfg.write_text(config)
        _run([str(grub.mkimage), "-O", platform.image_format, "-d", str(directory),
              "-p", PREFIX, "-c", str(cfg), "-o", str(out), *platform.modules],
             f"grub-mkimage -O {platform.image_format}")
        return out.read_bytes()


def _cache_key(grub: Grub, platform: Platform, directory: Path, config: str) -> str:
    """Hash of everything the image depends on: tool version, inputs, module files."""
    digest = hashlib.sha256()
    for part in (grub.version, platform.image_format, PREFIX, " ".join(platform.modules), config):
        digest.update(part.encode() + b"\0")
    for name in ("kernel.img", "moddep.lst"):
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()[:32]


def _store(path: Path, data: bytes) -> None:
    """Write a cache entry atomically (concurrent builds may share the cache)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot create the GRUB image cache {path.parent}: {exc.strerror or exc}") from None
    write_atomically(path, data)


def _run(argv: list[str], what: str) -> str:
    try:
        done = subprocess.run(argv, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise ToolMissing(f"{argv[0]} not found") from exc
    except subprocess.CalledProcessError as exc:
        lines = (exc.stderr or exc.stdout or "").strip().splitlines()
        detail = lines[-1] if lines else f"exit status {exc.returncode}"
        raise BuildError(f"{what} failed: {detail}") from exc
    return done.stdout
