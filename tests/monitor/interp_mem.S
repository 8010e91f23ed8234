# interpreter_test snippet: loads and stores of every size, sign extension, misaligned
# accesses and a bus error (rules: interp_arith.S). Data at 0x00100000; the test puts
# 0x01020304 at 0x000ffffc.
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	lui	$1, 0x0010
	lui	$2, 0x8899
	ori	$2, $2, 0xaabb		# 0x8899aabb
	sw	$2, 0($1)
	sb	$2, 4($1)		# 0x100004 = bb
	sh	$2, 6($1)		# 0x100006 = bb aa
	lb	$3, 0($1)		# 0xffffffbb
	lbu	$4, 0($1)		# 0xbb
	lb	$5, 3($1)		# 0xffffff88
	lh	$6, 2($1)		# 0xffff8899
	lhu	$7, 2($1)		# 0x8899
	lw	$8, 0($1)		# 0x8899aabb
	lw	$9, 4($1)		# 0xaabb00bb
	lh	$10, 0($1)		# 0xffffaabb
	ori	$11, $0, 0x7f
	sb	$11, 8($1)
	lb	$12, 8($1)		# 0x7f
	lw	$13, 1($1)		# AddressErrorLoad 0x100001, $13 keeps 0
	sw	$11, 2($1)		# AddressErrorStore 0x100002, memory unchanged
	lh	$14, 1($1)		# AddressErrorLoad 0x100001
	sh	$11, 3($1)		# AddressErrorStore 0x100003
	lw	$0, 0($1)		# $zero stays 0
	lw	$15, -4($1)		# 0x01020304
	lui	$16, 0x7fff
	lw	$17, 0($16)		# BusErrorData: nothing at 0x7fff0000
	lhu	$18, 6($1)		# 0xaabb
	break
