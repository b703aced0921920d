package analysis

// Config is the t-test detector's configuration (the reference UDF's options).
type Config struct {
	// History is the number of points kept as the baseline (the UDF's size).
	History int
	// Alpha is the significance level: a window with p < Alpha is anomalous,
	// and only windows with p > Alpha enter the history.
	Alpha float64
}

// Result is the test of one window against the history before it.
type Result struct {
	T, P float64
	// N is the number of points in the window.
	N int
}

// Anomalous reports p < alpha; a NaN p-value is not anomalous.
func (r Result) Anomalous(alpha float64) bool { return r.P < alpha }

// Detector is the reference UDF's state for one series, fed point by point:
//
//  1. a window whose history is empty emits nothing and seeds the history;
//  2. otherwise the window is tested against the history with Welch's test
//     (history as sample 1, window as sample 2);
//  3. the window's points enter the history only if p > Alpha, so anomalous
//     windows never become the baseline (nor do windows with a NaN p-value,
//     as in the reference, where NaN > alpha is false).
//
// Values that are NaN or infinite are ignored: InfluxDB cannot store them,
// and one of them would poison every later mean.
type Detector struct {
	cfg      Config
	history  *MovingStats
	values   []float64 // the open window's values
	accepted int
}

// NewDetector returns a detector with an empty history.
func NewDetector(cfg Config) *Detector {
	return &Detector{cfg: cfg, history: NewMovingStats(cfg.History)}
}

// Observe adds a value to the open window.
func (d *Detector) Observe(x float64) {
	if x-x != 0 { // NaN or ±Inf: one subtraction tests both
		return
	}
	d.values = append(d.values, x)
}

// CloseWindow tests the open window and starts a new one. ok is false when
// nothing is emitted: the window was empty or only seeded the history.
func (d *Detector) CloseWindow() (r Result, ok bool) {
	if len(d.values) == 0 {
		return Result{}, false
	}
	h := d.history.Summary
	_, added := d.history.addWindow(d.values, func(w Summary) bool {
		if h.N == 0 {
			return true // the seeding window enters the history unconditionally
		}
		r.T, r.P = Welch(h.Mean, h.StdDev(), h.N, w.Mean, w.StdDev(), w.N)
		r.N = w.N
		ok = true
		return r.P > d.cfg.Alpha
	})
	if added {
		d.accepted += len(d.values)
	}
	d.values = d.values[:0]
	return r, ok
}

// HistoryN is the number of points in the history.
func (d *Detector) HistoryN() int { return d.history.N }

// Accepted is the number of points that have entered the history so far.
func (d *Detector) Accepted() int { return d.accepted }

// WindowDetector is the detector for per-window summaries (count, mean and
// variance computed inside InfluxDB) instead of points. Its history is a FIFO
// of whole windows combined with Chan's parallel update: after a window
// enters, the oldest windows leave while the total exceeds History (the
// newest window always stays).
//
// When every window holds the same number of points c and History is a
// multiple of c, this keeps exactly the points Detector keeps, and both agree
// up to rounding. Otherwise Detector keeps exactly History points, cutting
// into the oldest window, while WindowDetector keeps the newest whole windows
// holding at most History points (more only when one window alone exceeds it).
type WindowDetector struct {
	cfg      Config
	windows  []Summary // FIFO, oldest first
	total    Summary   // Combine of windows
	accepted int
}

// NewWindowDetector returns a window detector with an empty history.
func NewWindowDetector(cfg Config) *WindowDetector {
	return &WindowDetector{cfg: cfg}
}

// Window tests one window's summary; ok is false when nothing is emitted.
func (d *WindowDetector) Window(w Summary) (r Result, ok bool) {
	if w.N == 0 {
		return Result{}, false
	}
	p := 1.0
	if d.total.N > 0 {
		r.T, r.P = Welch(d.total.Mean, d.total.StdDev(), d.total.N, w.Mean, w.StdDev(), w.N)
		r.N = w.N
		p, ok = r.P, true
	}
	if p > d.cfg.Alpha {
		d.enter(w)
	}
	return r, ok
}

// enter adds w to the window FIFO: the oldest windows leave while the total
// exceeds History (the newest always stays), and the total is recombined
// from the few windows left, so no rounding drift accumulates from repeated
// removals. Window and TTestModel (which has its own admission rule) both
// admit windows through it.
func (d *WindowDetector) enter(w Summary) {
	d.accepted += w.N
	d.windows = append(d.windows, w)
	n := d.total.N + w.N
	drop := 0
	for n > d.cfg.History && drop < len(d.windows)-1 {
		n -= d.windows[drop].N
		drop++
	}
	if drop > 0 {
		d.windows = append(d.windows[:0], d.windows[drop:]...)
	}
	d.total = Summary{}
	for _, s := range d.windows {
		d.total = Combine(d.total, s)
	}
}

// HistoryN is the number of points in the history.
func (d *WindowDetector) HistoryN() int { return d.total.N }

// Accepted is the number of points that have entered the history so far.
func (d *WindowDetector) Accepted() int { return d.accepted }

// Windows assigns time-ordered points to windows [k·Width, (k+1)·Width)
// aligned to the Unix epoch and runs a Detector over them. Times are in
// nanoseconds; a window's timestamp is its end.
type Windows struct {
	*Detector
	Width      int64
	start, end int64 // the open window [start, end)
	open       bool
}

// Add feeds one point. When the point belongs to a later window than the open
// one, the open window is closed first and its result returned with its end.
func (w *Windows) Add(t int64, x float64) (r Result, end int64, ok bool) {
	if !w.open || !WindowHolds(w.start, w.end, t) {
		if w.open {
			end = w.end
			r, ok = w.CloseWindow()
		}
		w.start, w.end = WindowStart(t, w.Width), WindowEnd(t, w.Width)
		w.open = true
	}
	w.Observe(x)
	return r, end, ok
}

// Flush closes the open window if it is complete by until (its end <= until).
func (w *Windows) Flush(until int64) (r Result, end int64, ok bool) {
	if !w.open || w.end > until {
		return Result{}, 0, false
	}
	w.open = false
	r, ok = w.CloseWindow()
	return r, w.end, ok
}

// Clone returns an independent copy of the detector and its history, so
// that a copy can go on from a saved state while the original stays as it
// was.
func (d *Detector) Clone() *Detector {
	c := *d
	c.history = d.history.clone()
	c.values = append([]float64(nil), d.values...)
	return &c
}

// Clone returns an independent copy of the detector's history.
func (d *WindowDetector) Clone() *WindowDetector {
	c := *d
	c.windows = append([]Summary(nil), d.windows...)
	return &c
}

// Clone returns an independent copy, open window and detector included.
func (w *Windows) Clone() *Windows {
	c := *w
	c.Detector = w.Detector.Clone()
	return &c
}

// Bytes is about how much memory the detector holds (its history and open
// window).
func (d *Detector) Bytes() int64 {
	return int64(8*(cap(d.history.ring)+cap(d.values))) + 96
}

// Bytes is about how much memory the detector holds (its window summaries).
func (d *WindowDetector) Bytes() int64 { return int64(24*cap(d.windows)) + 80 }
