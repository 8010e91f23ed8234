# interpreter_test snippet: shifts and rotates (rules: interp_arith.S).
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	lui	$1, 0x8000
	ori	$1, $1, 0x00f1		# 0x800000f1
	sll	$2, $1, 4		# 0x00000f10
	srl	$3, $1, 4		# 0x0800000f
	sra	$4, $1, 4		# 0xf800000f
	rotr	$5, $1, 4		# 0x1800000f
	ori	$6, $0, 36		# variable shifts use the low 5 bits: 4
	sllv	$7, $1, $6
	srlv	$8, $1, $6
	srav	$9, $1, $6
	rotrv	$10, $1, $6
	sll	$11, $1, 0		# 0x800000f1
	rotr	$12, $1, 0		# 0x800000f1
	sra	$13, $1, 31		# 0xffffffff
	srl	$14, $1, 31		# 1
	sllv	$15, $1, $0		# 0x800000f1
	break
