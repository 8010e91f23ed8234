# exceptions_test snippet (rules: interp_arith.S): a general-exception handler at
# EBase + 0x180 that records Cause and EPC, steps EPC over the faulting instruction and ERETs.
# The test's memory maps kseg0 onto physical memory, so EBase = 0x80400000 is this snippet's
# own start (DISCO_INTERP_BASE). The test runs it with step_and_deliver() and stops at BREAK.
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	b	main
	nop
	.org	0x180
handler:				# 0x80400180
	mfc0	$26, $13		# Cause
	mfc0	$27, $14		# EPC
	or	$20, $26, $0
	or	$21, $27, $0
	addiu	$27, $27, 4
	mtc0	$27, $14
	addiu	$22, $22, 1		# handler runs
	eret
	ori	$23, $0, 1		# never: ERET has no delay slot
main:
	lui	$1, 0x8040
	mtc0	$1, $15, 1		# EBase = 0x80400000
	mfc0	$2, $12
	lui	$3, 0xffbf
	ori	$3, $3, 0xfff9		# ~(BEV | ERL | EXL)
	and	$2, $2, $3
	mtc0	$2, $12			# leave the reset state: exceptions go to EBase
	ehb
	ori	$5, $0, 5
	syscall				# Cause.ExcCode 8, EPC here
	ori	$6, $0, 6		# the handler returns here
	mfc0	$7, $12			# Status: EXL clear again
	break
