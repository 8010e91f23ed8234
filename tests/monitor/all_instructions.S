# Every line of monitor/cpu/mips_isa.inc at least once, one machine instruction per line, for
# decoder_binutils_test.cpp. The build assembles it with GNU as (-EL -mips32r2 -mhard-float,
# warnings fatal, and -mno-fix-loongson3-llsc: Debian's gas otherwise puts a sync before ll)
# and extracts .text; the test reads this file back and expects the n-th
# instruction line to decode to the Op named by its mnemonic (normalised as the test says).
# Never executed: registers and immediates are chosen to vary every field, not to make sense.
# Rules for this file: one instruction per line, labels alone on their line, '#' comments.
	.set	noreorder	# no delay-slot filling
	.set	nomacro		# a macro expanding to several instructions is an error (warnings are fatal)
	.set	noat
	.text
1:
# Primary opcodes: jumps, branches, immediate ALU
	j	1b
	jal	2f
	beq	$4, $5, 1b
	b	2f
	bne	$31, $0, 1b
	blez	$7, 2f
	bgtz	$30, 1b
	addi	$2, $3, -32768
	addiu	$sp, $sp, -32
	slti	$8, $9, 100
	sltiu	$10, $11, -1
	andi	$12, $13, 0xffff
	ori	$14, $15, 0x8000
	xori	$16, $17, 0x1234
	lui	$18, 0xdead
	beql	$19, $20, 1b
	bnel	$21, $22, 2f
	blezl	$23, 1b
	bgtzl	$24, 2f
# Loads, stores, cache operations
	lb	$2, -1($3)
	lh	$4, 2($5)
	lwl	$6, 3($7)
	lw	$8, 32764($9)
	lbu	$10, 0($11)
	lhu	$12, -32768($13)
	lwr	$14, 0($15)
	sb	$16, 1($17)
	sh	$18, -2($19)
	swl	$20, 7($21)
	sw	$ra, 28($sp)
	swr	$22, 4($23)
	cache	0x14, 0($4)
	cache	0x1, 16($5)
	ll	$24, 0($25)
	lwc1	$f0, 8($4)
	pref	5, 8($4)
	ldc1	$f2, -8($5)
	sc	$24, 0($25)
	swc1	$f31, 12($6)
	sdc1	$f30, 16($7)
# SPECIAL
	sll	$2, $3, 31
	nop
	ssnop
	ehb
	movf	$4, $5, $fcc0
	movf	$6, $7, $fcc7
	movt	$8, $9, $fcc3
	srl	$10, $11, 1
	rotr	$12, $13, 16
	sra	$14, $15, 7
	sllv	$16, $17, $18
	srlv	$19, $20, $21
	rotrv	$22, $23, $24
	srav	$25, $26, $27
	jr	$ra
	jr.hb	$4
	jalr	$25
	jalr	$2, $3
	jalr.hb	$5
	movz	$4, $5, $6
	movn	$7, $8, $9
	syscall
	syscall	0x12345
	break
	break	7
	sync
	sync	0x10
	mfhi	$2
	mthi	$3
	mflo	$4
	mtlo	$5
	mult	$6, $7
	multu	$8, $9
	div	$0, $10, $11
	divu	$0, $12, $13
	add	$2, $3, $4
	addu	$5, $6, $7
	sub	$8, $9, $10
	subu	$11, $12, $13
	and	$14, $15, $16
	or	$17, $18, $19
	xor	$20, $21, $22
	nor	$23, $24, $25
	slt	$26, $27, $28
	sltu	$29, $30, $31
	tge	$2, $3
	tgeu	$4, $5, 1023
	tlt	$6, $7, 1
	tltu	$8, $9
	teq	$10, $11, 7
	tne	$12, $13, 0x3ff
# REGIMM
	bltz	$2, 1b
	bgez	$3, 2f
	bltzl	$4, 1b
	bgezl	$5, 2f
	tgei	$6, -1
	tgeiu	$7, 0x7fff
	tlti	$8, 0
	tltiu	$9, -32768
	teqi	$10, 5
	tnei	$11, -5
	bltzal	$12, 1b
	bgezal	$13, 2f
	bal	1b
	bltzall	$14, 2f
	bgezall	$15, 1b
	synci	0($4)
	synci	-4($5)
# SPECIAL2
	madd	$2, $3
	maddu	$4, $5
	mul	$6, $7, $8
	msub	$9, $10
	msubu	$11, $12
	clz	$13, $14
	clo	$15, $16
	sdbbp
	sdbbp	0x1234
# SPECIAL3
	ext	$2, $3, 0, 32
	ext	$4, $5, 31, 1
	ins	$6, $7, 8, 8
	ins	$8, $9, 0, 1
	wsbh	$10, $11
	seb	$12, $13
	seh	$14, $15
	rdhwr	$3, $29
	rdhwr	$4, $2
# COP0
	mfc0	$26, $12
	mfc0	$4, $15, 1
	mtc0	$27, $14
	mtc0	$5, $16, 7
	rdpgpr	$4, $5
	di
	di	$6
	ei
	ei	$7
	wrpgpr	$8, $9
	tlbr
	tlbwi
	tlbwr
	tlbp
	eret
	deret
	wait
	wait	0x7ffff
	.set	push
	.set	mips32r5
	.set	virt
	hypcall
	hypcall	0x2a5
	.set	pop
# COP1: moves, branches
	mfc1	$2, $f0
	cfc1	$3, $31
	mfhc1	$4, $f2
	mtc1	$5, $f4
	ctc1	$6, $31
	mthc1	$7, $f6
	bc1f	1b
	bc1f	$fcc7, 2f
	bc1t	$fcc1, 1b
	bc1fl	2f
	bc1tl	$fcc5, 1b
# COP1: single
	add.s	$f0, $f1, $f2
	sub.s	$f3, $f4, $f5
	mul.s	$f6, $f7, $f8
	div.s	$f9, $f10, $f11
	sqrt.s	$f12, $f13
	abs.s	$f14, $f15
	mov.s	$f16, $f17
	neg.s	$f18, $f19
	round.l.s	$f20, $f21
	trunc.l.s	$f22, $f23
	ceil.l.s	$f24, $f25
	floor.l.s	$f26, $f27
	round.w.s	$f28, $f29
	trunc.w.s	$f30, $f31
	ceil.w.s	$f0, $f31
	floor.w.s	$f1, $f30
	movf.s	$f2, $f3, $fcc0
	movt.s	$f4, $f5, $fcc6
	movz.s	$f6, $f7, $8
	movn.s	$f8, $f9, $10
	recip.s	$f10, $f11
	rsqrt.s	$f12, $f13
	cvt.d.s	$f14, $f15
	cvt.w.s	$f16, $f17
	cvt.l.s	$f18, $f19
# COP1: double
	add.d	$f0, $f2, $f4
	sub.d	$f6, $f8, $f10
	mul.d	$f12, $f14, $f16
	div.d	$f18, $f20, $f22
	sqrt.d	$f24, $f26
	abs.d	$f28, $f30
	mov.d	$f0, $f30
	neg.d	$f2, $f28
	round.l.d	$f4, $f26
	trunc.l.d	$f6, $f24
	ceil.l.d	$f8, $f22
	floor.l.d	$f10, $f20
	round.w.d	$f12, $f18
	trunc.w.d	$f14, $f16
	ceil.w.d	$f16, $f14
	floor.w.d	$f18, $f12
	movf.d	$f20, $f10, $fcc1
	movt.d	$f22, $f8, $fcc7
	movz.d	$f24, $f6, $31
	movn.d	$f26, $f4, $2
	recip.d	$f28, $f2
	rsqrt.d	$f30, $f0
	cvt.s.d	$f1, $f2
	cvt.w.d	$f3, $f4
	cvt.l.d	$f6, $f8
# COP1: word and long fixed point
	cvt.s.w	$f0, $f1
	cvt.d.w	$f2, $f3
	cvt.s.l	$f4, $f6
	cvt.d.l	$f8, $f10
# COP1: compares, all 16 conditions in both formats
	c.f.s	$f0, $f1
	c.un.s	$fcc1, $f2, $f3
	c.eq.s	$fcc2, $f4, $f5
	c.ueq.s	$fcc3, $f6, $f7
	c.olt.s	$fcc4, $f8, $f9
	c.ult.s	$fcc5, $f10, $f11
	c.ole.s	$fcc6, $f12, $f13
	c.ule.s	$fcc7, $f14, $f15
	c.sf.s	$f16, $f17
	c.ngle.s	$fcc1, $f18, $f19
	c.seq.s	$fcc2, $f20, $f21
	c.ngl.s	$fcc3, $f22, $f23
	c.lt.s	$fcc4, $f24, $f25
	c.nge.s	$fcc5, $f26, $f27
	c.le.s	$fcc6, $f28, $f29
	c.ngt.s	$fcc7, $f30, $f31
	c.f.d	$fcc7, $f0, $f2
	c.un.d	$fcc6, $f4, $f6
	c.eq.d	$f8, $f10
	c.ueq.d	$fcc4, $f12, $f14
	c.olt.d	$fcc3, $f16, $f18
	c.ult.d	$fcc2, $f20, $f22
	c.ole.d	$fcc1, $f24, $f26
	c.ule.d	$f28, $f30
	c.sf.d	$fcc7, $f0, $f2
	c.ngle.d	$fcc6, $f4, $f6
	c.seq.d	$fcc5, $f8, $f10
	c.ngl.d	$fcc4, $f12, $f14
	c.lt.d	$fcc3, $f16, $f18
	c.nge.d	$fcc2, $f20, $f22
	c.le.d	$fcc1, $f24, $f26
	c.ngt.d	$f28, $f30
# COP1X
	lwxc1	$f0, $4($5)
	ldxc1	$f2, $6($7)
	luxc1	$f4, $8($9)
	swxc1	$f6, $10($11)
	sdxc1	$f8, $12($13)
	suxc1	$f10, $14($15)
	prefx	0, $16($17)
	prefx	31, $18($19)
	madd.s	$f0, $f1, $f2, $f3
	madd.d	$f4, $f6, $f8, $f10
	msub.s	$f5, $f7, $f9, $f11
	msub.d	$f12, $f14, $f16, $f18
	nmadd.s	$f13, $f15, $f17, $f19
	nmadd.d	$f20, $f22, $f24, $f26
	nmsub.s	$f21, $f23, $f25, $f27
	nmsub.d	$f28, $f30, $f0, $f2
2:
