# The start of our bare-metal guests (guest/baremetal/README.md): the exception vectors, then
# _start. Linked at 0x80100000, which becomes EBase: the refill vector is at +0x000, the general
# one at +0x180 (and +0x200, interrupts, unused: they stay masked).
#
# Every exception goes to the same handler: it records Cause and BadVAddr in bm_fault and, if
# the program said it expects one (bm_expecting != 0), skips the faulting instruction (EPC + 4:
# callers put probing accesses outside delay slots) and returns; an unexpected exception prints
# its cause and powers off, so a broken guest never hangs a test.
	.set	noreorder
	.set	noat
	.text
	.globl	_start
vectors:
	.org	0x000
	j	exception
	nop
	.org	0x180
	j	exception
	nop
	.org	0x200
	j	exception
	nop
	.org	0x400
_start:
	la	$sp, bm_stack_top
	la	$t0, vectors		# EBase: our vectors (bits 29..12; kseg0)
	mtc0	$t0, $15, 1
	ehb
	move	$a0, $a3		# YAMON's a3: the RAM size below 256 MiB
	jal	bm_main
	nop
	jal	bm_poweroff
	nop
1:	b	1b
	nop

exception:
	mfc0	$k0, $13		# Cause
	la	$k1, bm_fault
	sw	$k0, 0($k1)
	mfc0	$k0, $8			# BadVAddr
	sw	$k0, 4($k1)
	lw	$k0, 8($k1)		# bm_fault.count
	addiu	$k0, $k0, 1
	sw	$k0, 8($k1)
	la	$k1, bm_expecting
	lw	$k1, 0($k1)
	beqz	$k1, unexpected
	nop
	mfc0	$k0, $14		# EPC: on past the probing access
	addiu	$k0, $k0, 4
	mtc0	$k0, $14
	ehb
	eret
unexpected:
	la	$sp, bm_stack_top
	mfc0	$a0, $13
	mfc0	$a1, $14
	jal	bm_unexpected
	nop
1:	b	1b
	nop

	.bss
	.align	4
	.space	16384
bm_stack_top:
