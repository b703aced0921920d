package kafka

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// Windows is the t-test over points that arrive as a topic is read: each
// series' points wait until the watermark passes their window, then enter
// the reference detectors (package analysis) in time order, as in a query
// over the same points. The watermark is event time, never the clock: the
// lowest of the partitions' newest point times, leaving out partitions
// that are idle (caught up and silent for Idle). A point that arrives for a
// window already emitted is late: it is counted and left out. A point dated
// further ahead of the wall clock than Ahead is counted as future and left
// out, so that one wrong clock cannot move the watermark past every other
// producer's points. A series without a point for IdleSeries of event time
// is forgotten, so that series that come and go do not hold memory for
// ever.
type Windows struct {
	cfg    analysis.Config
	width  int64
	fields []string
	series map[*Series]*windowSeries
	order  []*Series
	// closed: the windows ending by closed are emitted.
	closed int64
	parts  map[int32]*partitionMark
	// Idle is how long a caught-up partition may be silent and still hold
	// the watermark back.
	Idle time.Duration
	// Late counts the points left out because their window was emitted.
	Late int64
	// Ahead is how far ahead of the wall clock a point may be dated
	// (kafkaFutureToleranceSeconds); Future counts those left out.
	Ahead  time.Duration
	Future int64
	// IdleSeries is how long (event time: up to the windows emitted) a
	// series may go without a point before it is forgotten
	// (kafkaLiveIdleSeconds); a point that comes later starts it afresh,
	// with an empty history. Zero: never. Forgotten counts them.
	IdleSeries time.Duration
	Forgotten  int64
	// forgotten are the series forgotten since the decoder last heard.
	forgotten []*Series
}

// The defaults of Ahead and IdleSeries: src/defaults.json's.
var (
	defaultAhead      = seconds(vigil.Default.Settings.KafkaFutureToleranceSeconds)
	defaultIdleSeries = seconds(vigil.Default.Settings.KafkaLiveIdleSeconds)
)

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

type windowSeries struct {
	newest  int64 // the newest point time taken
	pending []Point
	// fields[i] is field i's windows, made at its first point.
	fields []*analysis.Windows
}

type partitionMark struct {
	newest   int64 // newest point time seen
	seen     bool
	caughtUp bool
	lastSeen time.Time
}

// NewWindows returns the live t-test of fields with the given window.
func NewWindows(cfg analysis.Config, window time.Duration, fields []string) *Windows {
	return &Windows{cfg: cfg, width: int64(window), fields: fields, series: map[*Series]*windowSeries{},
		closed: -1 << 63, parts: map[int32]*partitionMark{}, Idle: time.Second,
		Ahead: defaultAhead, IdleSeries: defaultIdleSeries}
}

// NewWindows returns the live t-test of fields with the client's settings
// (kafkaFutureToleranceSeconds, kafkaLiveIdleSeconds).
func (c *Client) NewWindows(cfg analysis.Config, window time.Duration, fields []string) *Windows {
	w := NewWindows(cfg, window, fields)
	w.Ahead = c.ahead()
	if c.LiveIdle > 0 {
		w.IdleSeries = c.LiveIdle
	}
	return w
}

// aheadLimit is the latest point time accepted at now.
func aheadLimit(now time.Time, ahead time.Duration) int64 {
	n := now.UnixNano()
	if n > math.MaxInt64-int64(ahead) {
		return math.MaxInt64
	}
	return n + int64(ahead)
}

// Add takes one point, unless it is dated too far ahead of now (counted in
// Future; Add reports false: it must not move the watermark) or late
// (counted in Late: its window was emitted).
func (w *Windows) Add(p Point, now time.Time) bool {
	if p.Time > aheadLimit(now, w.Ahead) {
		w.Future++
		return false
	}
	if p.Time < w.closed {
		w.Late++
		return true
	}
	s, ok := w.series[p.Series]
	if !ok {
		s = &windowSeries{newest: p.Time, fields: make([]*analysis.Windows, len(w.fields))}
		w.series[p.Series] = s
		w.order = append(w.order, p.Series)
	}
	s.newest = max(s.newest, p.Time)
	s.pending = append(s.pending, p)
	return true
}

// Mark records a partition's progress: its newest point time so far (if
// any point), whether it is caught up with the broker, and when.
func (w *Windows) Mark(partition int32, newest int64, hasPoint, caughtUp bool, now time.Time) {
	m, ok := w.parts[partition]
	if !ok {
		m = &partitionMark{}
		w.parts[partition] = m
	}
	if hasPoint {
		m.newest, m.seen, m.lastSeen = max(m.newest, newest), true, now
	}
	m.caughtUp = caughtUp
}

// Watermark is the event time up to which every partition has delivered;
// ok is false while there is none yet, or while a partition that still has
// retained messages to deliver has delivered no point.
func (w *Windows) Watermark(now time.Time) (wm int64, ok bool) {
	wm = int64(1<<63 - 1)
	newest, active := int64(-1<<63), false
	for _, m := range w.parts {
		if !m.seen {
			if !m.caughtUp {
				return 0, false
			}
			continue
		}
		newest = max(newest, m.newest)
		if m.caughtUp && now.Sub(m.lastSeen) >= w.Idle {
			continue // idle: it holds nothing back
		}
		wm, active = min(wm, m.newest), true
	}
	if !active {
		wm = newest // all idle: everything has been delivered
	}
	return wm, newest != -1<<63
}

// Delivered says that every partition has delivered what it held (the
// retained messages were read): none holds the watermark back any more
// until it delivers again.
func (w *Windows) Delivered() {
	for _, m := range w.parts {
		if m.caughtUp {
			m.lastSeen = time.Time{}
		}
	}
}

// Emit returns the windows the watermark closed since the last call.
func (w *Windows) Emit(now time.Time) []*ttest.Series {
	wm, ok := w.Watermark(now)
	if !ok {
		return nil
	}
	return w.Advance(wm)
}

// Closed is the end of the last window emitted (math.MinInt64 before any).
func (w *Windows) Closed() int64 { return w.closed }

// Advance emits the windows that end by the watermark (aligned down to a
// window edge) and returns, per field and tag set, those that are new.
func (w *Windows) Advance(watermark int64) []*ttest.Series {
	if watermark < -1<<62 {
		return nil // before any data: nothing to close
	}
	cut := analysis.WindowStart(watermark, w.width)
	if cut <= w.closed {
		return nil
	}
	var out []*ttest.Series
	idle := false
	for _, key := range w.order {
		s := w.series[key]
		SortPoints(s.pending)
		n := 0
		for n < len(s.pending) && s.pending[n].Time < cut {
			n++
		}
		news := map[int]*ttest.Series{}
		emit := func(f int, res analysis.Result, end int64, ok bool) {
			if !ok {
				return
			}
			n := news[f]
			if n == nil {
				n = &ttest.Series{Field: w.fields[f], Tags: key.Tags}
				news[f] = n
			}
			t := time.Unix(0, end).UTC()
			n.Ends, n.Results = append(n.Ends, t), append(n.Results, res)
		}
		for i, p := range s.pending[:n] {
			if i+1 < n && s.pending[i+1].Time == p.Time && s.pending[i+1].Field == p.Field {
				continue // a later message holds this field's value at this time
			}
			fw := s.fields[p.Field]
			if fw == nil {
				fw = &analysis.Windows{Detector: analysis.NewDetector(w.cfg), Width: w.width}
				s.fields[p.Field] = fw
			}
			res, end, ok := fw.Add(p.Time, p.Value)
			emit(p.Field, res, end, ok)
		}
		s.pending = append(s.pending[:0], s.pending[n:]...)
		for f, fw := range s.fields {
			if fw != nil {
				res, end, ok := fw.Flush(cut)
				emit(f, res, end, ok)
			}
		}
		for f := range w.fields {
			if n := news[f]; n != nil {
				out = append(out, n)
			}
		}
		if w.IdleSeries > 0 && s.newest < cut-int64(w.IdleSeries) {
			// Every point of it was emitted (pending ones are >= cut).
			delete(w.series, key)
			w.forgotten = append(w.forgotten, key)
			w.Forgotten++
			idle = true
		}
	}
	if idle {
		w.order = slices.DeleteFunc(w.order, func(s *Series) bool { return w.series[s] == nil })
	}
	w.closed = cut
	return out
}

// Series is how many series the windows hold.
func (w *Windows) Series() int { return len(w.series) }

// forget tells dec of the series forgotten, so that it lets go of them too.
func (w *Windows) forget(dec *Decoder) {
	for _, s := range w.forgotten {
		dec.forget(s)
	}
	w.forgotten = w.forgotten[:0]
}

// Follower reads a topic from its start, then follows it: all partitions,
// including those added while it runs (found at the client's metadata
// refresh), across broker restarts (the client reconnects and goes on from
// the offsets it had).
type Follower struct {
	c  *Client
	cl *kgo.Client
	// end are the end offsets when the follower started: the retained messages.
	end map[int32]int64
}

// Follow starts a follower of topic; Close it when done.
func (c *Client) Follow(ctx context.Context, topic string) (*Follower, error) {
	offsets, err := c.Offsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(c.options(kgo.ConsumeTopics(topic), kgo.MetadataMaxAge(c.MetadataMaxAge),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))...)
	if err != nil {
		return nil, err
	}
	return &Follower{c: c, cl: cl, end: offsets.unread()}, nil
}

// Pending marks in w the partitions with retained messages still to read,
// so that the watermark waits for them.
func (f *Follower) Pending(w *Windows) {
	for p := range f.end {
		w.Mark(p, 0, false, false, time.Time{})
	}
}

// StopWaiting gives up on the retained messages not read yet (a partition
// that ends short of its end offset: transaction markers, compaction): its
// partitions count as caught up, so that the watermark moves.
func (f *Follower) StopWaiting(w *Windows) {
	for p := range f.end {
		w.Mark(p, 0, false, true, f.c.Now())
		delete(f.end, p)
	}
}

// Close stops the follower.
func (f *Follower) Close() { f.cl.Close() }

// Retained reports whether every message retained at the start was read.
func (f *Follower) Retained() bool { return len(f.end) == 0 }

// Poll waits up to wait for messages, decodes them into w, marks the
// partitions' progress and returns how many messages it read. A fetch
// error (broker down, topic gone) is returned after the records that did
// arrive are taken.
func (f *Follower) Poll(ctx context.Context, wait time.Duration, dec *Decoder, w *Windows) (int, error) {
	w.forget(dec)
	pctx, cancel := context.WithTimeout(ctx, wait)
	fetches := f.cl.PollFetches(pctx)
	cancel()
	now := f.c.Now()
	var ferr error
	fetches.EachError(func(_ string, _ int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && ferr == nil {
			ferr = f.c.explain(err)
		}
	})
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		newest, has := int64(-1<<63), false
		for _, r := range p.Records {
			dec.Decode(Position{r.Partition, r.Offset}, r.Key, r.Value, func(pt Point) {
				if w.Add(pt, now) {
					newest, has = max(newest, pt.Time), true
				}
			})
		}
		last := p.Records[len(p.Records)-1].Offset
		if end, ok := f.end[p.Partition]; ok && last >= end-1 {
			delete(f.end, p.Partition)
		}
		w.Mark(p.Partition, newest, has, last+1 >= p.HighWatermark, now)
	})
	return fetches.NumRecords(), ferr
}
