package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/frames"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/power"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// warmupLifetime is how long a warm-up read by SubscribeStream waits for
// the channel's RunStream (Grafana starts it right after the first
// subscription) before it is dropped.
const warmupLifetime = 30 * time.Second

// liveHub is one data source's Live channels (the zero value is ready).
// A channel's warm-up is read once and shared: by the subscriptions that
// come while it is read or waits for its RunStream, and by that RunStream,
// which goes on from it. A viewer who subscribes to a running channel gets
// the stream's last hour as initial data, without a read. A channel whose
// reads fail says why in a frame notice and retries with backoff.
type liveHub struct {
	mu       sync.Mutex
	channels map[string]*liveChannel
	// Seams for tests; nil: the data source's InfluxDB client, the wall
	// clock and math/rand.
	src    influx.Reader
	clock  clock
	jitter func() float64
}

// clock is the time a stream sees: its reads, retries and waits.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (wallClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

func (h *liveHub) clk() clock {
	if h.clock == nil {
		return wallClock{}
	}
	return h.clock
}

func (h *liveHub) random() float64 {
	if h.jitter == nil {
		return rand.Float64()
	}
	return h.jitter()
}

// liveChannel is one channel's shared state.
type liveChannel struct {
	path string
	// warm is held while the warm-up is read, so that a subscriber who
	// comes meanwhile waits for it and shares it.
	warm sync.Mutex

	mu sync.Mutex
	// st is the started stepper: waiting for RunStream, or run by it.
	st      stepper
	running bool
	// failure is the last failed read (nil once a read succeeds).
	failure *liveFailure
	// unseen: viewers were shown a failure instead of the warm-up's rows,
	// so the stream sends those rows once it has them.
	unseen bool
	// shape is the last frame sent, without rows: notices go in a frame of
	// the same fields, so that Grafana keeps the panel's rows.
	shape *data.Frame
	// expire stops the timer that drops a channel no RunStream claimed.
	expire func() bool
}

// liveFailure is why a channel has no fresh data, and when it tries again.
type liveFailure struct {
	notice  data.Notice
	attempt int
	retryAt time.Time
}

// channel returns path's channel, creating it.
func (h *liveHub) channel(path string) *liveChannel {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.channels == nil {
		h.channels = map[string]*liveChannel{}
	}
	ch := h.channels[path]
	if ch == nil {
		ch = &liveChannel{path: path}
		h.channels[path] = ch
	}
	return ch
}

// drop removes ch if it is still path's channel, and closes its stepper.
// The caller holds ch.mu.
func (h *liveHub) drop(ch *liveChannel) {
	h.mu.Lock()
	if h.channels[ch.path] == ch {
		delete(h.channels, ch.path)
	}
	h.mu.Unlock()
	if ch.st != nil {
		ch.st.close()
		ch.st = nil
	}
}

// subscribe is a new viewer's initial data: the running stream's state, the
// warm-up another subscriber read, or a warm-up read now; when reads fail,
// a frame whose notice says why.
func (h *liveHub) subscribe(ctx context.Context, ch *liveChannel, lq liveQuery, newStepper func() stepper, explain func(error) string) *data.Frame {
	ch.warm.Lock()
	defer ch.warm.Unlock()
	now := h.clk().Now()
	ch.mu.Lock()
	switch {
	case ch.st != nil:
		f := withFailure(ch.st.initial(), ch.failure)
		ch.mu.Unlock()
		return f
	case ch.failure != nil && (ch.running || now.Before(ch.failure.retryAt)):
		// The stream retries at retryAt; reading now would not share.
		f := ch.noticeFrame(lq)
		ch.mu.Unlock()
		return f
	}
	ch.mu.Unlock()

	st := newStepper()
	f, err := st.start(ctx, now)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if err != nil {
		st.close()
		if ctx.Err() != nil {
			return ch.blank(lq)
		}
		ch.fail(err, explain(err), now, lq, false, h.random())
		f = ch.noticeFrame(lq)
	} else {
		ch.st, ch.failure = st, nil
	}
	if !ch.running && ch.expire == nil {
		ch.expire = h.clk().AfterFunc(warmupLifetime, func() {
			ch.mu.Lock()
			defer ch.mu.Unlock()
			if !ch.running {
				h.drop(ch)
			}
		})
	}
	return f
}

// claim makes the caller (RunStream) the runner of path's channel. A
// second RunStream of a channel that runs gets a channel of its own.
func (h *liveHub) claim(path string) *liveChannel {
	ch := h.channel(path)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.running {
		return &liveChannel{path: path, running: true}
	}
	ch.running = true
	if ch.expire != nil {
		ch.expire()
		ch.expire = nil
	}
	return ch
}

// release ends a RunStream's claim: the channel and its stepper go.
func (h *liveHub) release(ch *liveChannel) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.running = false
	h.drop(ch)
}

// fail records a failed read and returns the notice's retry time: the
// backoff grows with each consecutive failure. started: the stream had
// data (a poll failed), so viewers keep theirs and are warned; else it has
// none to show, an error. The caller holds ch.mu.
func (ch *liveChannel) fail(err error, cause string, now time.Time, lq liveQuery, started bool, u float64) {
	attempt := 1
	if ch.failure != nil {
		attempt = ch.failure.attempt + 1
	}
	retryAt := now.Add(retryDelay(attempt, retryLimit(err, lq), u))
	n := data.Notice{Severity: data.NoticeSeverityError,
		Text: fmt.Sprintf("The Live stream cannot start: %s. Next try at %s (try %d).", cause, retryAt.UTC().Format(time.RFC3339), attempt+1)}
	if started {
		n = data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("The Live stream cannot read new data: %s. Next try at %s (try %d); then it catches up.", cause, retryAt.UTC().Format(time.RFC3339), attempt+1)}
	} else {
		ch.unseen = true
	}
	ch.failure = &liveFailure{notice: n, attempt: attempt, retryAt: retryAt}
}

// retryDelay is the wait before retrying after attempt consecutive
// failures: one second doubling up to limit, of which the upper half is
// random (u in [0, 1)), so that channels that failed together do not all
// retry at once.
func retryDelay(attempt int, limit time.Duration, u float64) time.Duration {
	d := limit
	if attempt < 32 {
		d = min(time.Second<<(attempt-1), limit)
	}
	return d/2 + time.Duration(u*float64(d/2))
}

// retryLimit caps the backoff: two windows (at least a second, at most
// maxBackoff), so that a stream is never long behind once its source is
// back; maxBackoff for failures that retrying soon cannot mend (the query
// or Max points).
func retryLimit(err error, lq liveQuery) time.Duration {
	var qe *models.QueryError
	var tooMany *models.TooManyPointsError
	if errors.As(err, &qe) || errors.As(err, &tooMany) {
		return maxBackoff
	}
	window := lq.query.TTest.Window
	if window <= 0 {
		window = lq.poll
	}
	return min(maxBackoff, max(2*window, time.Second))
}

// blank is a frame of the channel's fields with no rows. The caller holds ch.mu.
func (ch *liveChannel) blank(lq liveQuery) *data.Frame {
	if ch.shape != nil {
		return emptyFrame(ch.shape)
	}
	if lq.query.Type == models.QueryTypePower {
		return frames.Power(&power.Outcome{})[0]
	}
	return lq.liveFrame([]*ttest.Series{{Field: lq.query.TTest.Fields[0]}})
}

// noticeFrame is a frame with no rows whose notice says why the channel
// has no fresh data. The caller holds ch.mu.
func (ch *liveChannel) noticeFrame(lq liveQuery) *data.Frame {
	return withFailure(ch.blank(lq), ch.failure)
}

// withFailure adds the failure's notice (and its retry time, for programs)
// to f.
func withFailure(f *data.Frame, fl *liveFailure) *data.Frame {
	if fl == nil {
		return f
	}
	if f.Meta == nil {
		f.Meta = &data.FrameMeta{}
	}
	f.Meta.Notices = append(f.Meta.Notices, fl.notice)
	custom, _ := f.Meta.Custom.(map[string]any)
	if custom == nil {
		custom = map[string]any{}
	}
	custom["retryAt"], custom["attempt"] = fl.retryAt.UTC().Format(time.RFC3339Nano), fl.attempt
	f.Meta.Custom = custom
	return f
}

// emptyFrame copies f's fields (names, labels, config) and meta type, no rows.
func emptyFrame(f *data.Frame) *data.Frame {
	out := data.NewFrame(f.Name)
	for _, fl := range f.Fields {
		e := data.NewFieldFromFieldType(fl.Type(), 0)
		e.Name, e.Labels, e.Config = fl.Name, fl.Labels, fl.Config
		out.Fields = append(out.Fields, e)
	}
	out.Meta = &data.FrameMeta{}
	if f.Meta != nil {
		out.Meta.Type, out.Meta.TypeVersion = f.Meta.Type, f.Meta.TypeVersion
	}
	return out
}

// runLive is RunStream's loop: it takes the channel's warm-up or reads it, sends
// the viewers the rows they have not seen, then polls until ctx ends. A
// failed read sends a frame whose notice says why and when the stream tries
// again (backing off), and the next read that succeeds clears it.
func (h *liveHub) runLive(ctx context.Context, ch *liveChannel, lq liveQuery, send func(*data.Frame) error,
	newStepper func() stepper, explain func(error) string, warn func(msg string, args ...any)) error {
	clk := h.clk()
	window := lq.query.TTest.Window
	if window <= 0 {
		window = lq.poll
	}
	sendFrame := func(f *data.Frame) error {
		ch.mu.Lock()
		ch.shape = emptyFrame(f)
		ch.mu.Unlock()
		return send(f)
	}
	for {
		// A failed read (this stream's or a subscription's) waits for its retry time.
		ch.mu.Lock()
		var wait time.Duration
		if ch.failure != nil {
			wait = ch.failure.retryAt.Sub(clk.Now())
		}
		ch.mu.Unlock()
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-clk.After(wait):
			}
		}

		now := clk.Now()
		st, fresh, err := h.started(ctx, ch, now, newStepper)
		var f *data.Frame
		if err == nil {
			ch.mu.Lock()
			unseen := ch.unseen
			ch.unseen = false
			ch.mu.Unlock()
			switch {
			case unseen:
				f = st.initial() // the viewers saw a failure, not these rows
			case !fresh:
				f, err = st.poll(ctx, now)
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if f != nil {
			if serr := sendFrame(f); serr != nil {
				return serr
			}
		}
		if err != nil {
			cause := explain(err)
			ch.mu.Lock()
			ch.fail(err, cause, now, lq, st != nil, h.random())
			nf := ch.noticeFrame(lq)
			retryAt := ch.failure.retryAt
			ch.mu.Unlock()
			warn("live stream: read failed, retrying", "path", ch.path, "error", cause, "retryAt", retryAt)
			if serr := send(nf); serr != nil {
				return serr
			}
			continue
		}
		ch.mu.Lock()
		recovered := ch.failure != nil
		ch.failure = nil
		plain := ch.blank(lq)
		ch.mu.Unlock()
		if recovered && f == nil {
			if serr := send(plain); serr != nil { // a frame without the notice clears it
				return serr
			}
		}

		wait = lq.poll
		if lq.query.Type == models.QueryTypeKafka {
			wait = 0 // its poll waited for messages already
		}
		next := time.Unix(0, (now.UnixNano()/int64(window)+1)*int64(window)).Add(lq.settle)
		wait = min(wait, max(next.Sub(clk.Now()), 0))
		select {
		case <-ctx.Done():
			return nil
		case <-clk.After(wait):
		}
	}
}

// started is the channel's stepper, reading the warm-up when there is
// none yet (fresh: read by this call); a subscriber who comes meanwhile
// waits for it.
func (h *liveHub) started(ctx context.Context, ch *liveChannel, now time.Time, newStepper func() stepper) (st stepper, fresh bool, err error) {
	ch.mu.Lock()
	st = ch.st
	ch.mu.Unlock()
	if st != nil {
		return st, false, nil
	}
	ch.warm.Lock()
	defer ch.warm.Unlock()
	ch.mu.Lock()
	st = ch.st
	ch.mu.Unlock()
	if st != nil { // a subscriber read it meanwhile
		return st, false, nil
	}
	st = newStepper()
	if _, err := st.start(ctx, now); err != nil {
		st.close()
		return nil, false, err
	}
	ch.mu.Lock()
	ch.st = st
	ch.mu.Unlock()
	return st, true, nil
}

// recentWindows keeps the windows a channel sent in the hour before its
// newest window end, for a new viewer's initial data: at most limit
// windows, the oldest dropped first. Safe for concurrent use.
type recentWindows struct {
	mu     sync.Mutex
	limit  int64
	series []*ttest.Series
	byKey  map[string]*ttest.Series
	n      int64
	// notices and custom are the stream's standing notices and custom
	// meta (kafka: malformed messages, late points).
	notices []data.Notice
	custom  map[string]any
}

// add takes windows sent (or read by the warm-up).
func (r *recentWindows) add(series []*ttest.Series) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey == nil {
		r.byKey = map[string]*ttest.Series{}
	}
	newest := time.Time{}
	for _, s := range series {
		key := seriesKey(s)
		m := r.byKey[key]
		if m == nil {
			m = &ttest.Series{Field: s.Field, Tags: s.Tags}
			r.byKey[key] = m
			r.series = append(r.series, m)
		}
		m.Ends, m.Results = append(m.Ends, s.Ends...), append(m.Results, s.Results...)
		m.Verdicts, m.Means = append(m.Verdicts, s.Verdicts...), append(m.Means, s.Means...) // anomaly queries
		r.n += int64(len(s.Ends))
	}
	for _, s := range r.series {
		if n := len(s.Ends); n > 0 && s.Ends[n-1].After(newest) {
			newest = s.Ends[n-1]
		}
	}
	cut := newest.Add(-liveInitialRange)
	if r.limit > 0 && r.n > r.limit {
		var ends []time.Time
		for _, s := range r.series {
			ends = append(ends, s.Ends...)
		}
		sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
		if c := ends[len(ends)-int(r.limit)-1]; c.After(cut) {
			cut = c
		}
	}
	r.n = 0
	kept := r.series[:0]
	for _, s := range r.series {
		i := sort.Search(len(s.Ends), func(i int) bool { return s.Ends[i].After(cut) })
		s.Ends = slices.Clone(s.Ends[i:])
		if s.Results != nil {
			s.Results = slices.Clone(s.Results[i:])
		}
		if s.Verdicts != nil {
			s.Verdicts, s.Means = slices.Clone(s.Verdicts[i:]), slices.Clone(s.Means[i:])
		}
		if len(s.Ends) == 0 {
			delete(r.byKey, seriesKey(s))
			continue
		}
		r.n += int64(len(s.Ends))
		kept = append(kept, s)
	}
	clear(r.series[len(kept):])
	r.series = kept
}

// seriesKey identifies a series without ambiguity (JSON: quoted, keys
// sorted), as fmt's map syntax would not: {"a:b": "c"} and {"a": "b:c"}.
func seriesKey(s *ttest.Series) string {
	b, _ := json.Marshal([]any{s.Field, s.Tags})
	return string(b)
}

// standing replaces the standing notices and custom meta.
func (r *recentWindows) standing(notices []data.Notice, custom map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices, r.custom = notices, custom
}

// frame is the kept windows as a t-test Live frame.
func (r *recentWindows) frame(lq liveQuery) *data.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	series := r.series
	if len(series) == 0 {
		series = []*ttest.Series{{Field: lq.query.TTest.Fields[0]}}
	}
	f := lq.liveFrame(series)
	f.Meta.Notices = slices.Clone(r.notices)
	if len(r.custom) > 0 {
		custom := map[string]any{}
		for k, v := range r.custom {
			custom[k] = v
		}
		f.Meta.Custom = custom
	}
	return f
}

// recentPoints keeps the power points a channel sent in the hour before
// its newest, at most limit of them. Safe for concurrent use.
type recentPoints struct {
	mu     sync.Mutex
	limit  int64
	last   power.Outcome
	times  []time.Time
	values []float64
}

func (r *recentPoints) add(out *power.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = power.Outcome{Aggregate: out.Aggregate, Every: out.Every, Statements: out.Statements}
	r.times, r.values = append(r.times, out.Times...), append(r.values, out.Values...)
	n := len(r.times)
	if n == 0 {
		return
	}
	cut := r.times[n-1].Add(-liveInitialRange)
	i := sort.Search(n, func(i int) bool { return r.times[i].After(cut) })
	if r.limit > 0 && int64(n-i) > r.limit {
		i = n - int(r.limit)
	}
	r.times, r.values = slices.Clone(r.times[i:]), slices.Clone(r.values[i:])
}

func (r *recentPoints) frame() *data.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.last
	out.Times, out.Values = slices.Clone(r.times), slices.Clone(r.values)
	return frames.Power(&out)[0]
}
