package ttest

import (
	"context"
	"math"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// Live is a t-test that goes on as data arrives: it starts from the state a
// points-mode query over the recent range leaves, then each Poll reads only
// the points newer than those already read and closes the windows that are
// complete, updating every series' history in place.
//
// A window is complete when a point of a later window arrives, or when the
// clock passes its end by Settle (a series that fell silent). A point that
// arrives after its window was closed is late: it is counted in Late and left
// out, because the window's result was already sent (a query over the range
// later includes it). Points more than maxLag behind the newest read ones are
// not looked for again.
//
// After a failed read the clock closes no window until InfluxDB has answered
// again for Settle: writers that buffered points while it was away replay
// them first, so their windows are not closed without them.
type Live struct {
	req    Request
	run    *runner
	newest int64 // newest point read on the channel (ns)
	// Settle is how long after a window's end its points may still be
	// arriving; Poll closes silent windows only after it.
	Settle time.Duration
	// Late counts points dropped because their window was already closed.
	Late int64
	// failed: the last read failed; answering: when reads succeeded again.
	failed    bool
	answering time.Time
}

// maxLagWindows bounds how far back a poll looks for the points of a series
// that fell behind: the poll range starts at most this many windows before
// the newest point read.
const maxLagWindows = 2

// StartLive runs the t-test over [req.From, req.To) in points mode (the
// initial rows a subscriber sees) and returns the live state positioned at
// the end of the last complete window.
func StartLive(ctx context.Context, src Source, req Request) (*Live, *Outcome, error) {
	req.Mode = models.ModePoints
	out, r, err := run(ctx, src, req)
	if err != nil {
		return nil, nil, fieldError(err)
	}
	if r == nil { // no window ended in the range yet: start empty at its end
		stop := alignDown(req.To, req.Window)
		r = &runner{src: src, req: req, start: stop, stop: stop, out: out}
		r.reset()
	}
	l := &Live{req: req, run: r, newest: r.stop.UnixNano() - 1, Settle: 100 * time.Millisecond}
	for _, st := range r.series {
		st.emitted = r.stop.UnixNano()
		l.newest = max(l.newest, st.last)
	}
	return l, out, nil
}

// Poll reads the points newer than those already read, up to now, and
// returns the windows it closed, per series (only series with new windows).
// On error nothing read so far is lost or read twice: the next Poll goes on
// from the last point processed.
func (l *Live) Poll(ctx context.Context, src Source, now time.Time) ([]*Series, error) {
	width := int64(l.req.Window)
	from := l.newest + 1
	for _, st := range l.run.series {
		from = min(from, max(st.last, st.emitted-1)+1)
	}
	from = max(from, l.newest-maxLagWindows*width)
	emitted := map[*state]*Series{}
	emit := func(st *state, end int64, res analysis.Result) {
		st.emitted = end
		s := emitted[st]
		if s == nil {
			s = &Series{Field: st.Field, Tags: st.Tags}
			emitted[st] = s
		}
		s.Ends = append(s.Ends, time.Unix(0, end).UTC())
		s.Results = append(s.Results, res)
	}

	newState := func() *state {
		return &state{points: &analysis.Windows{Detector: analysis.NewDetector(l.req.Config), Width: width},
			emitted: l.run.stop.UnixNano(), last: from - 1}
	}
	err := src.Points(ctx, l.req.Selection, time.Unix(0, from), now.Add(time.Minute), func(b influx.Batch) error {
		states := l.run.states(b.Tags, newState)
		for j, ts := range b.Times {
			for i := 0; i < b.Width; i++ {
				x := b.Value(j, i)
				if math.IsNaN(x) {
					continue
				}
				st := states(i)
				switch {
				case ts <= st.last:
					continue // read before
				case ts < st.emitted:
					l.Late++
					st.last = ts
					continue
				}
				st.last = ts
				l.newest = max(l.newest, ts)
				if r, end, ok := st.points.Add(ts, x); ok {
					emit(st, end, r)
				} else if end != 0 {
					st.emitted = end // a closed window that emitted nothing (it seeded the history)
				}
			}
		}
		return nil
	})
	// Close the windows the clock says are complete, even without new data,
	// but only once reads have succeeded for Settle: while InfluxDB is away,
	// and just after, their points may still be on their way.
	switch {
	case err != nil:
		l.failed = true
	case l.failed:
		l.failed, l.answering = false, now
	}
	until := now.Add(-l.Settle).UnixNano()
	if l.failed || now.Sub(l.answering) < l.Settle {
		until = 0
	}
	for _, key := range l.run.order {
		st := l.run.series[key]
		if r, end, ok := st.points.Flush(until); ok {
			emit(st, end, r)
		} else if end != 0 {
			st.emitted = end
		}
	}
	var out []*Series
	for _, key := range l.run.order {
		if s := emitted[l.run.series[key]]; s != nil {
			out = append(out, s)
		}
	}
	return out, fieldError(err)
}
