# interpreter_test snippet: LL/SC (rules: interp_arith.S). The test's run loop breaks the
# memory's link on `syscall`, standing in for another CPU's store.
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	lui	$1, 0x0010
	ori	$2, $0, 5
	sw	$2, 0($1)
	ll	$3, 0($1)		# 5
	addiu	$4, $3, 1
	sc	$4, 0($1)		# succeeds: $4 = 1, memory 6
	ll	$5, 0($1)		# 6
	addiu	$6, $5, 1
	syscall				# the link is broken here
	sc	$6, 0($1)		# fails: $6 = 0, memory stays 6
	ori	$7, $0, 9
	sc	$7, 0($1)		# no link: fails, $7 = 0
.Lretry:
	ll	$8, 0($1)
	addiu	$8, $8, 10
	sc	$8, 0($1)
	beq	$8, $0, .Lretry
	nop
	lw	$9, 0($1)		# 16
	ll	$10, 2($1)		# AddressErrorLoad 0x100002
	sc	$10, 2($1)		# AddressErrorStore 0x100002
	break
