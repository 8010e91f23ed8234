# boot_files_test's kernels: the smallest ELF executables binutils link for a MIPS32 Malta, once
# little-endian (a kernel the loader takes) and once big-endian (one it must refuse).
	.set	noreorder
	.text
	.globl	__start
__start:
	j	__start
	nop
