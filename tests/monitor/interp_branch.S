# interpreter_test snippet: every branch and jump, delay slots, likely-nullification, link values
# (rules: interp_arith.S). $2 and $9 collect a bit per instruction that must run (delay slots,
# fall-throughs); `ori $3, $3, 1` marks every instruction that must not run, so $3 ends 0.
# Link checks subtract the expected return label's address: each of $5.. $8, $10..$12 ends 0.
	.set	noreorder
	.set	nomacro
	.set	noat
	.text
	addiu	$1, $0, 1
	addiu	$4, $0, -1
	beq	$1, $1, .Lb1		# taken
	ori	$2, $2, 0x1		# delay slot runs
	ori	$3, $3, 1
.Lb1:	bne	$1, $1, .Lb2		# not taken
	ori	$2, $2, 0x2		# delay slot runs
	ori	$2, $2, 0x4		# fall-through runs
.Lb2:	beql	$1, $0, .Lb3		# likely, not taken: delay slot annulled
	ori	$3, $3, 1
	ori	$2, $2, 0x8
.Lb3:	bnel	$1, $0, .Lb4		# likely, taken: delay slot runs
	ori	$2, $2, 0x10
	ori	$3, $3, 1
.Lb4:	blez	$0, .Lb5		# taken
	ori	$2, $2, 0x20
	ori	$3, $3, 1
.Lb5:	bgtz	$1, .Lb6		# taken
	ori	$2, $2, 0x40
	ori	$3, $3, 1
.Lb6:	bltz	$4, .Lb7		# taken
	ori	$2, $2, 0x80
	ori	$3, $3, 1
.Lb7:	bgez	$0, .Lb8		# taken
	ori	$2, $2, 0x100
	ori	$3, $3, 1
.Lb8:	blezl	$1, .Lb9		# not taken: annulled
	ori	$3, $3, 1
	ori	$2, $2, 0x200
.Lb9:	bgtzl	$4, .Lb10		# not taken: annulled
	ori	$3, $3, 1
	ori	$2, $2, 0x400
.Lb10:	bltzl	$1, .Lb11		# not taken: annulled
	ori	$3, $3, 1
	ori	$2, $2, 0x800
.Lb11:	bgezl	$4, .Lb12		# not taken: annulled
	ori	$3, $3, 1
	ori	$2, $2, 0x1000
.Lb12:	bltzal	$4, .Lb13		# taken, links
	ori	$2, $2, 0x2000
.Lr1:	ori	$3, $3, 1
.Lb13:	lui	$25, %hi(.Lr1)
	addiu	$25, $25, %lo(.Lr1)
	subu	$5, $31, $25
	bgezal	$4, .Lb14		# not taken, links anyway
	ori	$2, $2, 0x4000
.Lr2:	lui	$25, %hi(.Lr2)
	addiu	$25, $25, %lo(.Lr2)
	subu	$6, $31, $25
	bltzall	$1, .Lb14		# likely, not taken: annulled, links anyway
	ori	$3, $3, 1
.Lr3:	lui	$25, %hi(.Lr3)
	addiu	$25, $25, %lo(.Lr3)
	subu	$7, $31, $25
	bgezall	$1, .Lb14		# likely, taken
	ori	$2, $2, 0x8000
.Lr4:	ori	$3, $3, 1
.Lb14:	lui	$25, %hi(.Lr4)
	addiu	$25, $25, %lo(.Lr4)
	subu	$8, $31, $25
	j	.Lj1
	ori	$9, $9, 0x1
	ori	$3, $3, 1
.Lj1:	jal	.Lj2
	ori	$9, $9, 0x2
.Lr5:	ori	$3, $3, 1
.Lj2:	lui	$25, %hi(.Lr5)
	addiu	$25, $25, %lo(.Lr5)
	subu	$10, $31, $25
	lui	$24, %hi(.Lj3)
	addiu	$24, $24, %lo(.Lj3)
	jr	$24
	ori	$9, $9, 0x4
	ori	$3, $3, 1
.Lj3:	lui	$24, %hi(.Lj4)
	addiu	$24, $24, %lo(.Lj4)
	jalr	$24			# rd = $31
	ori	$9, $9, 0x8
.Lr6:	ori	$3, $3, 1
.Lj4:	lui	$25, %hi(.Lr6)
	addiu	$25, $25, %lo(.Lr6)
	subu	$11, $31, $25
	lui	$24, %hi(.Lj5)
	addiu	$24, $24, %lo(.Lj5)
	jalr	$12, $24
	ori	$9, $9, 0x10
.Lr7:	ori	$3, $3, 1
.Lj5:	lui	$25, %hi(.Lr7)
	addiu	$25, $25, %lo(.Lr7)
	subu	$12, $12, $25
	ori	$13, $0, 5		# a backward loop, counted in its delay slot
.Lloop:	addiu	$13, $13, -1
	bne	$13, $0, .Lloop
	addiu	$14, $14, 1		# runs 5 times
	b	.Lend			# beq $0, $0
	ori	$9, $9, 0x20
	ori	$3, $3, 1
.Lend:	break
