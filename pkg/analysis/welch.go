package analysis

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Welch runs Welch's unequal-variance two-sided t-test from summary
// statistics, as scipy.stats.ttest_ind_from_stats(mean1, std1, n1, mean2,
// std2, n2, equal_var=False) does:
//
//	v1 = s1²/n1,  v2 = s2²/n2
//	t  = (mean1 - mean2) / sqrt(v1 + v2)
//	df = (v1 + v2)² / (v1²/(n1-1) + v2²/(n2-1))   (Welch–Satterthwaite)
//	p  = 2·S(|t|; df)
//
// where S is the Student's t survival function. S is computed directly
// (gonum's StudentsT.Survival, a regularized incomplete beta function), never
// as 1 - CDF, so p-values of 1e-21 and below keep their precision.
//
// Edge cases follow scipy: when df is undefined (0/0: both variances zero, or
// a side with n = 1 and zero variance) it is taken as 1; zero variance on
// both sides gives t = ±Inf and p = 0 when the means differ, and t = p = NaN
// when they are equal.
func Welch(mean1, std1 float64, n1 int, mean2, std2 float64, n2 int) (t, p float64) {
	v1 := std1 * std1 / float64(n1)
	v2 := std2 * std2 / float64(n2)
	df := (v1 + v2) * (v1 + v2) / (v1*v1/float64(n1-1) + v2*v2/float64(n2-1))
	if math.IsNaN(df) {
		df = 1
	}
	t = (mean1 - mean2) / math.Sqrt(v1+v2)
	switch {
	case math.IsNaN(t):
		return t, math.NaN()
	case math.IsInf(t, 0):
		return t, 0
	}
	return t, 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
}
