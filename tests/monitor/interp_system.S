# interpreter_test snippet: traps, syscall, RDHWR, no-ops, reserved and coprocessor
# instructions, an exception in a delay slot (rules: interp_arith.S). The test expects the
# exceptions in the order of the comments.
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	addiu	$1, $0, -1
	ori	$2, $0, 1
	teq	$1, $2			# -
	tne	$1, $2			# Trap 1
	tge	$1, $2			# -
	tgeu	$1, $2			# Trap 2
	tlt	$1, $2			# Trap 3
	tltu	$1, $2			# -
	teqi	$1, -1			# Trap 4
	tnei	$1, -1			# -
	tgei	$2, 1			# Trap 5
	tgeiu	$2, -1			# -
	tlti	$2, 1			# -
	tltiu	$2, -1			# Trap 6
	syscall				# Syscall
	rdhwr	$3, $29			# UserLocal, set by the test
	sync
	pref	0, 0($1)
	cache	0x14, 0($2)
	.word	0xec000000		# Reserved opcode 111011: ReservedInstruction
	lwc1	$f0, 0($1)		# CoprocessorUnusable unit 1
	mfc0	$4, $12			# kernel mode: reads Status; user mode: CoprocessorUnusable
	beq	$0, $0, .Lafter
	teq	$0, $0			# Trap in a delay slot
	ori	$5, $0, 1		# skipped by the branch
.Lafter:
	ori	$6, $0, 7
	break
