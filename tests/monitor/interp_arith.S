# interpreter_test snippet: integer ALU, overflow traps, $zero.
# Rules for interp_*.S: .text only (the build keeps .text of a link at DISCO_INTERP_BASE); no
# functions; end with `break`; data lives where the test's flat memory puts it (0x00100000);
# the test's run loop records every other exception and resumes after the instruction.
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	ori	$4, $0, 0x1234
	lui	$1, 0x7fff
	ori	$1, $1, 0xffff		# $1 = 0x7fffffff
	addiu	$2, $0, 1
	addu	$3, $1, $2		# 0x80000000, no trap
	add	$4, $1, $2		# Overflow: $4 keeps 0x1234
	addi	$5, $1, 1		# Overflow: $5 keeps 0
	sub	$6, $3, $2		# Overflow: $6 keeps 0
	subu	$7, $3, $2		# 0x7fffffff
	add	$8, $2, $2		# 2
	addi	$9, $2, -3		# 0xfffffffe
	slt	$10, $3, $2		# 1
	sltu	$11, $3, $2		# 0
	slti	$12, $3, -1		# 1
	sltiu	$13, $2, -1		# 1
	lui	$14, 0xf0f0
	ori	$14, $14, 0x0ff0	# 0xf0f00ff0
	and	$15, $14, $1		# 0x70f00ff0
	or	$16, $14, $2		# 0xf0f00ff1
	xor	$17, $14, $1		# 0x8f0ff00f
	nor	$18, $14, $2		# 0x0f0ff00e
	andi	$19, $14, 0xffff	# 0x00000ff0
	xori	$20, $14, 0xffff	# 0xf0f0f00f
	addiu	$0, $0, 5		# $zero stays 0
	lui	$0, 0x1234
	movz	$21, $14, $0		# moved: 0xf0f00ff0
	movn	$22, $14, $0		# not moved: 0
	movn	$23, $2, $14		# moved: 1
	sub	$24, $2, $3		# 1 - 0x80000000: Overflow, $24 keeps 0
	addu	$25, $0, $0
	break
