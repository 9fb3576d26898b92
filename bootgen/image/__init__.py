"""Making the image: compile and link the stub, check it as a multiboot loader will, build the ISO.

toolchain (gcc, ld) -> build (the stub ELF, its embedded command line) ->
elf (lief: multiboot header, layout) -> grub (grub-mkimage cores), fat (the
ESP), hybrid (MBR patches) -> iso (pycdlib).
"""
