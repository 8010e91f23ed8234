# interpreter_test snippet: CLZ/CLO, SEB/SEH/WSBH, EXT/INS (rules: interp_arith.S).
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	ori	$1, $0, 0x00ff
	clz	$2, $1			# 24
	clz	$3, $0			# 32
	addiu	$4, $0, -16		# 0xfffffff0
	clo	$5, $4			# 28
	clo	$6, $0			# 0
	ori	$7, $0, 0x8080
	seb	$8, $7			# 0xffffff80
	seh	$9, $7			# 0xffff8080
	lui	$10, 0x1122
	ori	$10, $10, 0x3344	# 0x11223344
	wsbh	$11, $10		# 0x22114433
	ext	$12, $10, 8, 12		# 0x233
	ext	$13, $10, 0, 32		# 0x11223344
	or	$14, $10, $0
	ins	$14, $4, 4, 8		# 0x11223f04
	ins	$15, $1, 31, 1		# 0x80000000
	ext	$16, $4, 31, 1		# 1
	or	$17, $10, $0
	ins	$17, $0, 0, 32		# 0
	seb	$18, $1			# 0xffffffff
	break
