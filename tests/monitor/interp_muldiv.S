# interpreter_test snippet: HI/LO, multiply, divide, multiply-accumulate (rules: interp_arith.S).
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	addiu	$1, $0, -7
	addiu	$2, $0, 3
	mult	$1, $2			# -21
	mflo	$3			# 0xffffffeb
	mfhi	$4			# 0xffffffff
	multu	$1, $2			# 0x2_ffffffeb
	mflo	$5
	mfhi	$6
	div	$0, $1, $2		# -7 / 3 = -2 rem -1
	mflo	$7
	mfhi	$8
	divu	$0, $1, $2		# 0xfffffff9 / 3 = 0x55555553 rem 0
	mflo	$9
	mfhi	$10
	mul	$11, $1, $2		# 0xffffffeb
	mthi	$2			# HI = 3
	mtlo	$1			# LO = 0xfffffff9
	div	$0, $1, $0		# by zero: HI/LO unchanged, no exception
	divu	$0, $1, $0
	mfhi	$12			# 3
	mflo	$13			# 0xfffffff9
	madd	$1, $2			# 0x3_fffffff9 - 21 = 0x3_ffffffe4
	mfhi	$14
	mflo	$15
	maddu	$1, $2			# + 0x2_ffffffeb = 0x6_ffffffcf
	mfhi	$16
	mflo	$17
	msub	$1, $2			# + 21 = 0x6_ffffffe4
	mfhi	$18
	mflo	$19
	msubu	$1, $2			# - 0x2_ffffffeb = 0x3_fffffff9
	mfhi	$20
	mflo	$21
	lui	$22, 0x8000
	addiu	$23, $0, -1
	div	$0, $22, $23		# INT_MIN / -1: LO = 0x80000000, HI = 0
	mflo	$24
	mfhi	$25
	break
