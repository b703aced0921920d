package analysis

// ModelWindows is to a Model what Windows is to the t-test's Detector: it
// assigns time-ordered points to windows [k·Width, (k+1)·Width) aligned to
// the Unix epoch (a window's timestamp is its end), summarizes each window
// when it closes, and runs it through Step with Filter. Whole windows (the
// windows read mode: summaries computed by InfluxDB, no values) go in
// through Window instead.
//
// Model may be nil: the windows are then only summarized, never judged
// (every closed window is returned with a zero Verdict and ok true), which
// is what a cross-series comparison (Peers) needs from each series.
//
// Values that are NaN or ±Inf are left out, as Detector.Observe leaves them
// out: InfluxDB cannot store them, and one would poison every later mean. A
// window left with no finite value is never passed to the model (a gap).
type ModelWindows struct {
	Model  Model
	Filter Filter
	Width  int64

	start, end int64 // the open window [start, end)
	open       bool
	values     []float64 // the open window's finite values
	// accepted counts the points (window counts) that entered the model's
	// baseline, for the warm-up's "history refilled" rule; windows the
	// windows that did.
	accepted, windows int

	// keepFn is w.keep bound once (a closure per window would be a heap
	// allocation per window); mean and entered are its argument and
	// result for the window being stepped.
	keepFn  func(Verdict) bool
	mean    float64
	entered bool
}

// Closed is one window closed by ModelWindows: its end (ns), its summary
// (the mean is the band output's value) and the model's verdict.
type Closed struct {
	End int64
	Summary
	Verdict Verdict
}

// Add feeds one point. When the point belongs to a later window than the
// open one, the open window is closed first and returned (ok false when it
// was empty or the model could not judge it yet).
func (w *ModelWindows) Add(t int64, x float64) (c Closed, ok bool) {
	if !w.open || !WindowHolds(w.start, w.end, t) {
		if w.open {
			c, ok = w.close()
		}
		w.start, w.end = WindowStart(t, w.Width), WindowEnd(t, w.Width)
		w.open = true
	}
	if x-x == 0 { // finite: NaN and ±Inf give NaN
		w.values = append(w.values, x)
	}
	return c, ok
}

// Flush closes the open window if it is complete by until (its end <= until).
func (w *ModelWindows) Flush(until int64) (c Closed, ok bool) {
	if !w.open || w.end > until {
		return Closed{}, false
	}
	w.open = false
	return w.close()
}

// close summarizes the open window with Welford's update (the t-test's own
// window summary, value by value in arrival order) and steps the model.
// The window's Values are the assigner's buffer, valid during Step only,
// and reused for the next window: a model copies what it keeps (every
// model of this package does: TTestModel and ZScore into their rings, MAD
// into its ring and sorted blocks; the others read only the mean).
func (w *ModelWindows) close() (Closed, bool) {
	values := w.values
	w.values = values[:0]
	if len(values) == 0 {
		return Closed{}, false
	}
	var s Summary
	for _, x := range values {
		s.Add(x)
	}
	return w.Window(Window{End: w.end, Width: w.Width, Summary: s, Values: values})
}

// keep is Step's rule for the window being stepped (its mean in w.mean):
// it enters the baseline unless anomalous after the filters, and
// w.entered records whether keep accepted it.
func (w *ModelWindows) keep(v Verdict) bool {
	w.entered = !w.Filter.Apply(w.mean, v).Anomalous()
	return w.entered
}

// Window judges one whole window (its summary, with or without its values)
// and counts what entered the baseline. A window with no point is skipped,
// and so is one whose mean is not finite: a summary computed by the store
// (the windows read mode) can overflow (a sum beyond ±1.8e308), and an
// infinite mean would poison every later baseline.
func (w *ModelWindows) Window(win Window) (Closed, bool) {
	if win.N == 0 || win.Mean-win.Mean != 0 {
		return Closed{}, false
	}
	c := Closed{End: win.End, Summary: win.Summary}
	if w.Model == nil {
		return c, true
	}
	// Whether win entered the baseline: not judged (it seeds it), or judged
	// and kept by the filter's verdict (Step's rule).
	if w.keepFn == nil {
		w.keepFn = w.keep
	}
	w.mean, w.entered = win.Mean, false
	v, ok := w.Model.Step(win, w.keepFn)
	if !ok || w.entered {
		w.accepted += win.N
		w.windows++
	}
	if !ok {
		return Closed{}, false
	}
	c.Verdict = w.Filter.Apply(win.Mean, v)
	return c, true
}

// Accepted is the number of points (the counts of the windows) that have
// entered the baseline so far, as the warm-up's history rule counts them
// (Detector.Accepted): a window counts when the model did not judge it (it
// seeded the baseline) or when keep, called last, accepted it. A model that
// calls keep only after its own conditions (TTestModel: p > alpha first)
// is counted exactly; one that could still refuse a window after keep
// accepted it would be over-counted, which changes how far back the
// warm-up reads, never a verdict.
func (w *ModelWindows) Accepted() int { return w.accepted }

// AcceptedWindows is the number of windows that have entered the baseline.
func (w *ModelWindows) AcceptedWindows() int { return w.windows }

// Bytes is about how much memory the open window holds, plus the model's
// own Bytes when it reports one (known false when it does not).
func (w *ModelWindows) Bytes() (n int64, known bool) {
	n = int64(8*cap(w.values)) + 96
	if b, ok := w.Model.(interface{ Bytes() int64 }); ok {
		return n + b.Bytes(), true
	}
	return n, w.Model == nil
}

// Clone returns an independent copy: the model (Model.Clone) and the open
// window's values.
func (w *ModelWindows) Clone() *ModelWindows {
	c := *w
	if w.Model != nil {
		c.Model = w.Model.Clone()
	}
	c.values = append([]float64(nil), w.values...)
	c.keepFn = nil // bound to w: the copy binds its own
	return &c
}
