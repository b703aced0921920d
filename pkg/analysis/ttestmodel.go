package analysis

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// TTestModel is the reference t-test (Detector, WindowDetector) as a Model:
// the same history, the same Welch test and so the same p and t, bit for
// bit, with the verdict in the shared score scale.
//
// Two read modes, chosen per window:
//
//   - points (w.Values non-nil): the history is exactly the last
//     Config.History points, updated as Detector updates it (MovingStats'
//     addWindow, Welford's update forwards and backwards), and the window's
//     own summary is recomputed from its values the same way;
//   - windows (w.Values nil): the history is WindowDetector's FIFO of whole
//     window summaries combined with Chan's update, the newest windows
//     holding at most History points.
//
// A series is read in one mode; each mode keeps its own history, allocated
// on first use, so a model never fed points holds no point ring.
//
// Rules (the reference UDF's, shared/docs/reference.md section 2):
//
//  1. a window met by an empty history is not judged (ok false) and seeds it;
//  2. otherwise it is tested with Welch's test, history as sample 1 and the
//     window as sample 2 (see Welch);
//  3. it enters the history only when p > Alpha and keep accepts the
//     verdict: with no filters keep adds nothing (p > Alpha already means a
//     score below 1), so the model is exactly the reference; filters can
//     only keep more windows out. A NaN p-value (both samples constant with
//     equal means) never enters, as in the reference where NaN > alpha is
//     false.
//
// The minimum baseline is one window, as in the reference. That inherits
// the reference's deadlock on degenerate baselines: when neither the
// history nor the window has any variance (a one-point seed judged against
// one-point windows, or a constant series that steps to another constant)
// every different mean gives t = ±Inf, p = 0, and stays out of the history
// for good. A window with variance, or a history with variance, is judged
// normally (one-point windows against a varied history get Welch's df = 1).
// Equal constant means give p = NaN: no verdict, and the window stays out.
//
// Memory is bounded by History: at most History points in points mode, at
// most History windows (each at least one point) in windows mode.
type TTestModel struct {
	cfg    Config
	points *MovingStats    // points mode, nil until the first window with values
	wins   *WindowDetector // windows mode, nil until the first window without
}

// NewTTestModel returns a t-test model with an empty history. cfg.Alpha must
// be in (0, 1) and cfg.History positive.
func NewTTestModel(cfg Config) Model {
	return &TTestModel{cfg: cfg}
}

// Step judges w and updates the history; see TTestModel.
func (m *TTestModel) Step(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	if w.Values != nil {
		return m.stepPoints(w, keep)
	}
	return m.stepWindows(w, keep)
}

// stepPoints is Detector.CloseWindow with the model's admission rule.
func (m *TTestModel) stepPoints(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	if m.points == nil {
		m.points = NewMovingStats(m.cfg.History)
	}
	h := m.points.Summary
	m.points.addWindow(w.Values, func(ws Summary) bool {
		if h.N == 0 {
			return true // the seeding window enters unconditionally
		}
		v, ok = m.verdict(h, ws), true
		return v.P > m.cfg.Alpha && keep(v)
	})
	return v, ok
}

// stepWindows is WindowDetector.Window with the model's admission rule.
func (m *TTestModel) stepWindows(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	if m.wins == nil {
		m.wins = NewWindowDetector(m.cfg)
	}
	h := m.wins.total
	if h.N > 0 {
		v, ok = m.verdict(h, w.Summary), true
		if !(v.P > m.cfg.Alpha && keep(v)) {
			return v, ok
		}
	}
	m.wins.enter(w.Summary)
	return v, ok
}

// verdict tests window summary w against history h.
func (m *TTestModel) verdict(h, w Summary) Verdict {
	s1, s2 := h.StdDev(), w.StdDev()
	t, p := Welch(h.Mean, s1, h.N, w.Mean, s2, w.N)
	half := welchHalfWidth(s1, h.N, s2, w.N, m.cfg.Alpha)
	return Verdict{Score: TTestScore(p, m.cfg.Alpha), Expected: h.Mean, Lower: h.Mean - half, Upper: h.Mean + half, P: p, T: t}
}

// TTestScore is the contract's score log(p)/log(alpha): 1 exactly at
// p = alpha, above 1 exactly when p < alpha (log is increasing and
// log(alpha) < 0), 0 at p = 1, +Inf at p = 0 (log 0 = -Inf). Rounding can
// put p a hair above 1; the score is then 0, never negative.
//
// A NaN p (the test is undefined: both samples constant and equal) gives a
// NaN score, which downstream means "no verdict": it is not anomalous
// (NaN > 1 is false) and such a window never enters the history.
func TTestScore(p, alpha float64) float64 {
	return math.Max(0, math.Log(p)/math.Log(alpha))
}

// welchHalfWidth is the half-width of the band of window means that
// Welch's test does not reject at level alpha against a history of n1
// points with standard deviation s1 (and mean mean1), for a window of n2
// points with standard deviation s2.
//
// Welch's statistic t = (mean1 - x)/√v, with v = s1²/n1 + s2²/n2, and its
// degrees of freedom (Welch–Satterthwaite)
//
//	df = v² / ((s1²/n1)²/(n1-1) + (s2²/n2)²/(n2-1))
//
// depend on the variances and counts only, not on the window mean x, so
// p(x) = 2·S(|mean1 - x|/√v; df) falls below alpha exactly when x leaves
//
//	mean1 ± q·√v,  q = t_{1-alpha/2, df}
//
// (q from twoSidedCritical). df is taken as 1 when undefined, as Welch and
// scipy take it. With no variance on either side the band is the single
// point mean1.
func welchHalfWidth(s1 float64, n1 int, s2 float64, n2 int, alpha float64) float64 {
	v1 := s1 * s1 / float64(n1)
	v2 := s2 * s2 / float64(n2)
	df := (v1 + v2) * (v1 + v2) / (v1*v1/float64(n1-1) + v2*v2/float64(n2-1))
	if math.IsNaN(df) {
		df = 1
	}
	v := v1 + v2
	if v == 0 {
		return 0
	}
	return twoSidedCritical(alpha, df) * math.Sqrt(v)
}

// twoSidedCritical is q > 0 with 2·S(q; df) = alpha, S the Student's t
// survival function: the critical value t_{1-alpha/2, df} (0 when alpha
// >= 1).
//
// gonum's StudentsT.Quantile inverts the regularized incomplete beta
// function: it is slow for large df (about 0.1 ms at df = 600, against
// 0.3 µs for Welch's whole test) and off by up to 0.4 % in p at df = 2000,
// alpha = 1e-12. Instead q starts from an approximation and is polished by
// Newton's method on ln(2·S(q)) = ln(alpha) in u = ln q, with S computed as
// Welch computes p (gonum's Survival) and d ln S/du = -q·pdf(q)/S(q). In u
// the tail's ln S is nearly linear (exactly so, asymptotically, for a power
// tail), so a few steps reach rounding and a window mean at the band's edge
// gives Welch's p = alpha. The start is the Cornish–Fisher expansion of t
// in the normal quantile z (Abramowitz and Stegun 26.7.5), accurate when
// df is large; below df = 10, also the power tail S(q) ≈ C·df^((df-1)/2)·q^-df
// (C the density's constant), and whichever is closer in ln p. Should that
// fail (alpha so small that S underflows), gonum's Quantile answers.
func twoSidedCritical(alpha, df float64) float64 {
	if alpha >= 1 {
		return 0
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	lnA := math.Log(alpha)
	miss := func(q float64) float64 { return math.Abs(math.Log(2*t.Survival(q)) - lnA) }
	q := cornishFisher(alpha, df)
	if df < 10 {
		if tq := studentsTail(alpha, df); !(miss(q) <= miss(tq)) {
			q = tq
		}
	}
	// Newton converges quadratically until S's own rounding (about 1e-13
	// relative for large df) stops it: stop at a step of 1e-12 in ln q (1e-11
	// in p at most for any practical alpha), or when a step no longer halves.
	last := math.Inf(1)
	for range 12 {
		s := t.Survival(q)
		du := (math.Log(2*s) - lnA) * s / (q * t.Prob(q))
		if math.IsNaN(du) || math.IsInf(du, 0) || math.Abs(du) > last/2 {
			break
		}
		q *= math.Exp(du)
		if last = math.Abs(du); last <= 1e-12 {
			break
		}
	}
	if !(q > 0) || math.IsInf(q, 0) || !(last <= 1e-9) {
		return -t.Quantile(alpha / 2)
	}
	return q
}

// cornishFisher approximates t_{1-alpha/2, df} from the normal quantile z
// (Abramowitz and Stegun 26.7.5):
//
//	t ≈ z + g1/df + g2/df² + g3/df³ + g4/df⁴
//	g1 = (z³ + z)/4
//	g2 = (5z⁵ + 16z³ + 3z)/96
//	g3 = (3z⁷ + 19z⁵ + 17z³ - 15z)/384
//	g4 = (79z⁹ + 776z⁷ + 1482z⁵ - 1920z³ - 945z)/92160
func cornishFisher(alpha, df float64) float64 {
	z := -distuv.UnitNormal.Quantile(alpha / 2)
	z2 := z * z
	g1 := (z2 + 1) * z / 4
	g2 := ((5*z2+16)*z2 + 3) * z / 96
	g3 := (((3*z2+19)*z2+17)*z2 - 15) * z / 384
	g4 := ((((79*z2+776)*z2+1482)*z2-1920)*z2 - 945) * z / 92160
	return z + (g1+(g2+(g3+g4/df)/df)/df)/df
}

// studentsTail approximates t_{1-alpha/2, df} from the density's power tail:
// pdf(q) = C·(1 + q²/df)^(-(df+1)/2) ≈ C·df^((df+1)/2)·q^-(df+1), so
// S(q) ≈ C·df^((df-1)/2)·q^-df, with C = Γ((df+1)/2)/(√(df·π)·Γ(df/2)),
// solved for S(q) = alpha/2.
func studentsTail(alpha, df float64) float64 {
	a, _ := math.Lgamma((df + 1) / 2)
	b, _ := math.Lgamma(df / 2)
	lnC := a - b - math.Log(df*math.Pi)/2
	return math.Exp((lnC + (df-1)/2*math.Log(df) - math.Log(alpha/2)) / df)
}

// Clone returns an independent copy of the model and its histories.
func (m *TTestModel) Clone() Model {
	c := *m
	if m.points != nil {
		c.points = m.points.clone()
	}
	if m.wins != nil {
		c.wins = m.wins.Clone()
	}
	return &c
}

// Bytes is about how much memory the model holds (its histories).
func (m *TTestModel) Bytes() int64 {
	b := int64(48)
	if m.points != nil {
		b += 8*int64(cap(m.points.ring)) + 64
	}
	if m.wins != nil {
		b += m.wins.Bytes()
	}
	return b
}
