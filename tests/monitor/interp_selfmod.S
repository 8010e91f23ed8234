# interpreter_test snippet: a store into already-executed code is seen by the next execution
# (rules: interp_arith.S).
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	lui	$1, %hi(.Lpatch)
	addiu	$1, $1, %lo(.Lpatch)
	lui	$2, 0x2403
	ori	$2, $2, 0x0007		# addiu $3, $0, 7
	ori	$6, $0, 2
.Lpatch:
	addiu	$3, $0, 1		# 1 the first time, 7 after the patch
	addu	$5, $5, $3		# 1 + 7 = 8
	sw	$2, 0($1)
	addiu	$6, $6, -1
	bne	$6, $0, .Lpatch
	nop
	break
