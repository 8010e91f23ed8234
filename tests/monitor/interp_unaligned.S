# interpreter_test snippet: LWL/LWR/SWL/SWR at all four alignments (rules: interp_arith.S). The
# test fills 0x100000.. with bytes 00 11 22 33 44 55 66 77 and 0x100010..0x10003f with ee.
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	lui	$1, 0x0010
	lui	$2, 0xaabb
	ori	$2, $2, 0xccdd		# 0xaabbccdd
	or	$3, $2, $0
	lwl	$3, 0($1)
	or	$4, $2, $0
	lwl	$4, 1($1)
	or	$5, $2, $0
	lwl	$5, 2($1)
	or	$6, $2, $0
	lwl	$6, 3($1)
	or	$7, $2, $0
	lwr	$7, 0($1)
	or	$8, $2, $0
	lwr	$8, 1($1)
	or	$9, $2, $0
	lwr	$9, 2($1)
	or	$10, $2, $0
	lwr	$10, 3($1)
	lwl	$11, 4($1)		# the unaligned-load idiom for the word at 0x100001
	lwr	$11, 1($1)
	swl	$2, 0x10($1)
	swl	$2, 0x15($1)
	swl	$2, 0x1a($1)
	swl	$2, 0x1f($1)
	swr	$2, 0x20($1)
	swr	$2, 0x25($1)
	swr	$2, 0x2a($1)
	swr	$2, 0x2f($1)
	swl	$2, 0x34($1)		# the unaligned-store idiom for the word at 0x100031
	swr	$2, 0x31($1)
	break
