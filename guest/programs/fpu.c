/* fpu: the hard-float FPU (or the kernel's FPU emulator). Bit-exact single and double arithmetic
 * and sqrt, conversions in every direction (incl. libgcc's 64-bit ones), compares with NaN, -0 and
 * infinities, rounding modes and exception flags through the FCSR, denormals, printf/strtod of
 * doubles, libm, and two numeric kernels with known answers: Simpson's rule for pi and Gaussian
 * elimination on a system whose solution is all ones. ~0.5 M instructions. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "disco_test.h"

/* volatile: operands unknown to the compiler, so the FPU really computes */
static volatile float vf_a = 1.5f, vf_b = 2.25f, vf_three = 3.0f, vf_two = 2.0f, vf_neg = -2.7f;
static volatile double vd_one = 1.0, vd_three = 3.0, vd_two = 2.0, vd_zero = 0.0, vd_tenth = 0.1;
static volatile double vd_neg = -2.7, vd_pos = 2.7, vd_half = 2.5, vd_3e9 = 3e9, vd_9e18 = 9e18;
static volatile double vd_18e18 = 1.8e19;
static volatile int32_t vi_max = INT32_MAX, vi_big = 16777217;
static volatile int64_t vl_big = 9007199254740993ll; /* 2^53 + 1: not representable */

static uint32_t fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static uint64_t dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

#define CHECK_FMT(want, fmt, ...)                                               \
	do {                                                                    \
		char got_[64];                                                  \
		snprintf(got_, sizeof got_, fmt, __VA_ARGS__);                  \
		CHECK(strcmp(got_, want) == 0, "printf(\"%s\") gave \"%s\", want \"%s\"", fmt, got_, want); \
	} while (0)

static void arithmetic(void)
{
	CHECK_EQ(fbits(vf_a * vf_b), fbits(3.375f));
	CHECK_EQ(fbits(vf_a + vf_b), fbits(3.75f));
	CHECK_EQ(fbits(vf_a - vf_b), fbits(-0.75f));
	CHECK_EQ(fbits(1.0f / vf_three), 0x3eaaaaabu);
	CHECK_EQ(fbits(sqrtf(vf_two)), 0x3fb504f3u);
	CHECK_EQ(dbits(vd_one / vd_three), 0x3fd5555555555555ull);
	CHECK_EQ(dbits(sqrt(vd_two)), 0x3ff6a09e667f3bcdull);
	CHECK_EQ(dbits(vd_tenth + 0.2), 0x3fd3333333333334ull); /* 0.30000000000000004 */
	CHECK_EQ(dbits(vd_tenth * 3.0 - 0.3), 0x3c90000000000000ull); /* 2^-54 */
	CHECK_EQ(dbits(vd_tenth * vd_three + vd_one), 0x3ff4cccccccccccdull);
	CHECK_EQ(dbits((double)vf_a * vd_tenth), 0x3fc3333333333334ull);
	CHECK_EQ(fbits((float)vd_tenth), 0x3dcccccdu);
	CHECK_EQ(dbits(fabs(vd_neg)), dbits(2.7));
	CHECK_EQ(dbits(-vd_neg), dbits(2.7));
	printf("fpu: arithmetic ok\n");
}

static void conversions(void)
{
	CHECK_EQ((int32_t)vd_neg, -2);
	CHECK_EQ((int32_t)vd_pos, 2);
	CHECK_EQ((int32_t)vf_neg, -2);
	CHECK_EQ(lrint(vd_half), 2); /* round half to even */
	CHECK_EQ(lrint(vd_pos), 3);
	CHECK_EQ(dbits(floor(vd_neg)), dbits(-3.0));
	CHECK_EQ(dbits(ceil(vd_neg)), dbits(-2.0));
	CHECK_EQ(dbits(round(vd_half)), dbits(3.0));
	CHECK_EQ(dbits(trunc(vd_neg)), dbits(-2.0));
	CHECK_EQ(dbits((double)vi_max), dbits(2147483647.0));
	CHECK_EQ(fbits((float)vi_big), fbits(16777216.0f)); /* 2^24 + 1 rounds to even */
	CHECK_EQ((uint32_t)vd_3e9, 3000000000u);
	CHECK_EQ((int64_t)vd_9e18, 9000000000000000000ll);
	CHECK_EQ((int64_t)-vd_9e18, -9000000000000000000ll);
	CHECK_EQ((uint64_t)vd_18e18, 18000000000000000000ull);
	CHECK_EQ(dbits((double)vl_big), dbits(9007199254740992.0));
	CHECK_EQ(dbits((double)(uint64_t)-1), dbits(18446744073709551616.0));
	CHECK_EQ(fbits((float)vl_big), fbits(9007199254740992.0f));
	printf("fpu: conversions ok\n");
}

static void compares(void)
{
	double nan = vd_zero / vd_zero, inf = vd_one / vd_zero, nzero = -vd_zero;
	CHECK(isnan(nan) && !(nan == nan) && nan != nan, "NaN compares equal");
	CHECK(!(nan < 1.0) && !(nan > 1.0) && !(nan <= 1.0) && !(nan >= 1.0), "NaN ordered");
	CHECK(isinf(inf) && inf > DBL_MAX && -inf < -DBL_MAX, "1/0 is not +inf");
	CHECK(nzero == 0.0 && signbit(nzero) && !signbit(vd_zero), "-0 broken");
	CHECK(vd_one / nzero == -inf, "1/-0 is not -inf");
	CHECK(vf_a < vf_b && vf_b > vf_a && vf_a != vf_b && vd_neg < vd_pos, "ordered compares");
	CHECK(fmax(nan, 1.0) == 1.0 && fmin(vd_neg, vd_pos) == -2.7, "fmax/fmin");
	printf("fpu: compares ok\n");
}

static void rounding_and_flags(void)
{
	CHECK_EQ(fesetround(FE_UPWARD), 0);
	CHECK_EQ(fegetround(), FE_UPWARD);
	CHECK_EQ(dbits(vd_one / vd_three), 0x3fd5555555555556ull);
	CHECK_EQ(dbits(rint(vd_half)), dbits(3.0));
	CHECK_EQ(fesetround(FE_DOWNWARD), 0);
	CHECK_EQ(dbits(-vd_one / vd_three), 0xbfd5555555555556ull);
	CHECK_EQ(dbits(rint(vd_half)), dbits(2.0));
	CHECK_EQ(fesetround(FE_TOWARDZERO), 0);
	CHECK_EQ(dbits(-vd_one / vd_three), 0xbfd5555555555555ull);
	CHECK_EQ(dbits(rint(-vd_half)), dbits(-2.0));
	CHECK_EQ(fesetround(FE_TONEAREST), 0);
	CHECK_EQ(dbits(vd_one / vd_three), 0x3fd5555555555555ull);

	feclearexcept(FE_ALL_EXCEPT);
	volatile double r = vd_one / vd_zero;
	CHECK(fetestexcept(FE_DIVBYZERO) && !fetestexcept(FE_INVALID), "1/0 flags 0x%x",
	      fetestexcept(FE_ALL_EXCEPT));
	feclearexcept(FE_ALL_EXCEPT);
	r = vd_zero / vd_zero;
	CHECK(fetestexcept(FE_INVALID), "0/0 did not raise invalid");
	feclearexcept(FE_ALL_EXCEPT);
	r = vd_one / vd_three;
	CHECK(fetestexcept(FE_INEXACT) && !fetestexcept(FE_DIVBYZERO), "1/3 flags");
	(void)r;
	printf("fpu: rounding modes and flags ok\n");
}

static void denormals(void)
{
	volatile double dmin = DBL_MIN;
	volatile float fmin_ = FLT_MIN;
	CHECK_EQ(dbits(dmin / 2), 0x0008000000000000ull);
	CHECK_EQ(dbits(dmin / 4503599627370496.0), 1u); /* smallest denormal: 2^-1074 */
	CHECK_EQ(dbits(dmin / 9007199254740992.0), 0u); /* 2^-1075 rounds to even: 0 */
	CHECK_EQ(fbits(fmin_ / 8388608.0f), 1u);
	CHECK_EQ(dbits((dmin / 2) * 2), dbits(DBL_MIN));
	CHECK_EQ(dbits(DBL_MAX * vd_two), dbits(INFINITY));
	printf("fpu: denormals ok\n");
}

static void formatting(void)
{
	CHECK_FMT("3.141593", "%.6f", M_PI);
	CHECK_FMT("0.10000000000000001", "%.17g", vd_tenth);
	CHECK_FMT("6.022141e+23", "%e", 6.02214076e23);
	CHECK_FMT("1e-300", "%g", 1e-300);
	CHECK_FMT("-0.000", "%.3f", -vd_zero);
	CHECK_FMT("inf -inf nan", "%g %g %g", vd_one / vd_zero, -vd_one / vd_zero,
	          fabs(vd_zero / vd_zero));
	CHECK_FMT("0x1.8p+1", "%a", vd_three);
	CHECK_FMT("12345678901234567168", "%.0f", 12345678901234567890.0);
	CHECK_FMT("2.5 3.5", "%.1f %.1f", (double)vf_b + 0.25, vd_pos + 0.8);
	CHECK_EQ(dbits(strtod("2.718281828459045", NULL)), dbits(M_E));
	CHECK_EQ(dbits(strtod("0x1.8p1", NULL)), dbits(3.0));
	CHECK_EQ(dbits(strtod("1e-320", NULL)), 0x00000000000007e8ull);
	CHECK_EQ(fbits(strtof("0.1", NULL)), 0x3dcccccdu);
	printf("fpu: printf %.10f %.3e %g\n", M_PI, 6.62607015e-34, 0.5);
}

static void libm(void)
{
	CHECK(fabs(sin(M_PI / 6) - 0.5) < 1e-15, "sin");
	CHECK(fabs(cos(M_PI / 3) - 0.5) < 1e-15, "cos");
	CHECK(fabs(exp(vd_one) - M_E) < 1e-15, "exp");
	CHECK(fabs(log(10.0 * vd_one) - M_LN10) < 1e-15, "log");
	CHECK(fabs(atan2(vd_one, vd_one) * 4 - M_PI) < 1e-15, "atan2");
	CHECK(fabs(pow(vd_two, 0.5) - M_SQRT2) < 1e-15, "pow");
	CHECK_EQ(dbits(fmod(10.5 * vd_one, 3.0)), dbits(1.5));
	CHECK_EQ(dbits(hypot(3.0 * vd_one, 4.0)), dbits(5.0));
	CHECK_EQ(dbits(ldexp(vd_three, 10)), dbits(3072.0));
	int e;
	CHECK(frexp(3072.0 * vd_one, &e) == 0.75 && e == 12, "frexp");
	printf("fpu: libm ok\n");
}

/* Simpson's rule for the integral of 4/(1+x^2) over [0,1], which is pi */
static double simpson_pi(int n)
{
	double h = 1.0 / n, s = 4.0 + 2.0;
	for (int i = 1; i < n; i++) {
		double x = i * h;
		s += (i & 1 ? 4.0 : 2.0) * 4.0 / (1.0 + x * x);
	}
	return s * h / 3.0;
}

/* Solves A x = A 1 by Gaussian elimination with partial pivoting; A is a Hilbert matrix plus n on
 * the diagonal (well conditioned). Returns max |x_i - 1|. */
static double gauss(void)
{
	enum { N = 12 };
	double a[N][N + 1];
	for (int i = 0; i < N; i++) {
		a[i][N] = 0;
		for (int j = 0; j < N; j++) {
			a[i][j] = 1.0 / (i + j + 1) + (i == j ? N : 0);
			a[i][N] += a[i][j];
		}
	}
	for (int k = 0; k < N; k++) {
		int p = k;
		for (int i = k + 1; i < N; i++)
			if (fabs(a[i][k]) > fabs(a[p][k]))
				p = i;
		for (int j = 0; j <= N; j++) {
			double t = a[k][j];
			a[k][j] = a[p][j];
			a[p][j] = t;
		}
		for (int i = k + 1; i < N; i++) {
			double m = a[i][k] / a[k][k];
			for (int j = k; j <= N; j++)
				a[i][j] -= m * a[k][j];
		}
	}
	double x[N], err = 0;
	for (int i = N - 1; i >= 0; i--) {
		double s = a[i][N];
		for (int j = i + 1; j < N; j++)
			s -= a[i][j] * x[j];
		x[i] = s / a[i][i];
		err = fmax(err, fabs(x[i] - 1.0));
	}
	return err;
}

/* sum of 1/k^2 in single precision with Kahan compensation: close to the double sum */
static void kahan(void)
{
	float s = 0, c = 0;
	double d = 0;
	for (int k = 1; k <= 20000; k++) {
		float y = 1.0f / ((float)k * (float)k) - c;
		float t = s + y;
		c = (t - s) - y;
		s = t;
		d += 1.0 / ((double)k * k);
	}
	CHECK(fabs(s - d) < 1e-7, "kahan float sum %.9g vs double %.9g", s, d);
	CHECK(fabs(d - (M_PI * M_PI / 6 - 1.0 / 20000)) < 1e-8, "basel sum %.12f", d);
	printf("fpu: basel sum %.6f\n", d);
}

int main(void)
{
	test_begin("fpu");
	arithmetic();
	conversions();
	compares();
	rounding_and_flags();
	denormals();
	formatting();
	libm();
	double pi = simpson_pi(2000);
	CHECK(fabs(pi - M_PI) < 1e-12, "simpson pi %.17g", pi);
	printf("fpu: simpson pi %.12f\n", pi);
	double err = gauss();
	CHECK(err < 1e-13, "gauss max error %g", err);
	printf("fpu: gauss 12x12 solved, max error < 1e-13\n");
	kahan();
	return test_pass();
}
