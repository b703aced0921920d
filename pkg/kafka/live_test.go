package kafka

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
)

// liveRun feeds messages (one partition, in order) through a decoder into
// windows as a follower does, moving the watermark after each, and returns
// what was emitted per series.
func liveRun(d *Decoder, w *Windows, now time.Time, msgs []string) map[string][]analysis.Result {
	got := map[string][]analysis.Result{}
	for i, m := range msgs {
		w.forget(d)
		newest, has := int64(math.MinInt64), false
		d.Decode(Position{0, int64(i)}, nil, []byte(m), func(p Point) {
			if w.Add(p, now) {
				newest, has = max(newest, p.Time), true
			}
		})
		w.Mark(0, newest, has, false, now)
		for _, s := range w.Emit(now) {
			key := fmt.Sprint(s.Tags)
			got[key] = append(got[key], s.Results...)
		}
	}
	return got
}

// TestWindowsForgetIdleSeries: a series silent for longer than IdleSeries
// (event time) is forgotten by the windows and the decoder; one that keeps
// sending stays, with exactly the results it has when nothing is ever
// forgotten; a forgotten series that comes back starts afresh.
func TestWindowsForgetIdleSeries(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var msgs []string
	line := func(printer string, s int) string {
		return fmt.Sprintf("temperatures,printer=%s hotend=%d %d", printer, s%5, t0.Add(time.Duration(s)*time.Second).UnixNano())
	}
	at7min := 0
	for s := range 600 {
		if s == 420 {
			at7min = len(msgs)
		}
		msgs = append(msgs, line("active", s))
		if s < 60 || s >= 500 { // "gone" sends for a minute, is silent, then comes back
			msgs = append(msgs, line("gone", s))
		}
	}
	cfg := analysis.Config{History: 20, Alpha: 0.01}
	q := lineQuery(nil, "hotend")
	now := t0.Add(time.Hour)

	// To 7 minutes through a follower: "gone" is silent for 6.
	_, addr := cluster(t, 1, "idle")
	produce(t, addr, "idle", msgs[:at7min])
	c := client(t, addr)
	c.Now = func() time.Time { return now }
	c.LiveIdle = 2 * time.Minute
	ctx := context.Background()
	f, err := c.Follow(ctx, "idle")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, w := NewDecoder(q), c.NewWindows(cfg, 10*time.Second, q.TTest.Fields)
	got := map[string][]analysis.Result{}
	f.Pending(w)
	for !f.Retained() {
		if _, err := f.Poll(ctx, time.Second, d, w); err != nil {
			t.Fatal(err)
		}
		for _, s := range w.Emit(now) {
			got[fmt.Sprint(s.Tags)] = append(got[fmt.Sprint(s.Tags)], s.Results...)
		}
	}
	if _, err := f.Poll(ctx, 10*time.Millisecond, d, w); err != nil { // the decoder hears of it at the next poll
		t.Fatal(err)
	}
	if w.Series() != 1 || len(d.series) != 1 || w.Forgotten != 1 {
		t.Fatalf("after 6 silent minutes: windows hold %d series, the decoder %d (forgotten %d), want 1", w.Series(), len(d.series), w.Forgotten)
	}
	for s := range d.series {
		if !strings.Contains(s, "active") {
			t.Fatalf("kept %q", s)
		}
	}
	more := liveRun(d, w, now, msgs[at7min:])
	if w.Series() != 2 {
		t.Fatalf("the series that came back is not there: %d series", w.Series())
	}
	for k, r := range more {
		got[k] = append(got[k], r...)
	}

	dn, never := NewDecoder(q), NewWindows(cfg, 10*time.Second, q.TTest.Fields)
	never.IdleSeries = 0
	want := liveRun(dn, never, now, msgs)
	if never.Series() != 2 || never.Forgotten != 0 {
		t.Fatalf("never forgetting: %d series, %d forgotten", never.Series(), never.Forgotten)
	}
	active := fmt.Sprint(map[string]string{"printer": "active"})
	if len(got[active]) == 0 || !reflect.DeepEqual(got[active], want[active]) {
		t.Fatalf("the active series: %d windows, %d when nothing is forgotten", len(got[active]), len(want[active]))
	}
	gone := fmt.Sprint(map[string]string{"printer": "gone"})
	if reflect.DeepEqual(got[gone], want[gone]) {
		t.Fatalf("the series that came back kept its history")
	}
}

// TestFuturePointsLeftOut: one message dated a day ahead of the clock is
// counted and left out, in Live and in a query; it does not move the
// watermark, so every later on-time point is taken (none is late), and the
// query keeps the points it keeps without it. The clock is the test's.
func TestFuturePointsLeftOut(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	now := t0.Add(10 * time.Minute) // the producers' wall clock, as the test sets it
	line := func(at time.Time, v int) string {
		return fmt.Sprintf("temperatures hotend=%d %d", v, at.UnixNano())
	}
	var msgs, clean []string
	split := 0 // the messages produced before the follower starts, then the rest
	for s := range 600 {
		msgs = append(msgs, line(t0.Add(time.Duration(s)*time.Second), s%7))
		if s == 100 {
			msgs = append(msgs, line(t0.Add(24*time.Hour), 99))
			split = len(msgs)
		}
	}
	for _, m := range msgs {
		if !strings.Contains(m, "hotend=99") {
			clean = append(clean, m)
		}
	}
	_, addr := cluster(t, 1, "future")
	produce(t, addr, "future", msgs[:split])
	c := client(t, addr)
	c.Now = func() time.Time { return now }
	c.FutureTolerance = time.Minute
	q := lineQuery(nil, "hotend")
	q.Kafka.Topic = "future"
	cfg := analysis.Config{History: 10, Alpha: 0.01}
	ctx := context.Background()

	// Live: a follower with the client's clock reads the retained messages,
	// the one dated ahead last, then the on-time ones that follow.
	f, err := c.Follow(ctx, "future")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := c.NewWindows(cfg, 10*time.Second, q.TTest.Fields)
	dec := NewDecoder(q)
	f.Pending(w)
	var live []analysis.Result
	poll := func() int {
		t.Helper()
		n, err := f.Poll(ctx, time.Second, dec, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range w.Emit(now) {
			live = append(live, s.Results...)
		}
		return n
	}
	for !f.Retained() {
		poll()
	}
	produce(t, addr, "future", msgs[split:])
	for read := 0; read < len(msgs)-split; {
		read += poll()
	}
	if w.Future != 1 || w.Late != 0 {
		t.Fatalf("future %d, late %d: want 1 and 0", w.Future, w.Late)
	}
	d, ref := NewDecoder(q), NewWindows(cfg, 10*time.Second, q.TTest.Fields)
	want := liveRun(d, ref, now, clean)[fmt.Sprint(map[string]string{})]
	// The follower's watermark stops in the last window, as the reference's.
	if len(live) == 0 || !reflect.DeepEqual(live, want) {
		t.Fatalf("live: %d windows, %d without the message dated ahead", len(live), len(want))
	}

	// A query whose range reaches the day ahead.
	_, sum, err := c.Load(ctx, q, t0, t0.Add(48*time.Hour), 1e6)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Future != 1 || sum.Points != 600 || len(sum.Notices) != 1 ||
		!strings.Contains(sum.Notices[0], "left out 1 point(s) dated more than 1m0s ahead of the clock (kafkaFutureToleranceSeconds)") {
		t.Fatalf("query: %+v", sum)
	}
	// Once the clock reaches it, it is a point like any other (the index
	// did not skip its block).
	c.Now = func() time.Time { return t0.Add(25 * time.Hour) }
	_, sum, err = c.Load(ctx, q, t0, t0.Add(48*time.Hour), 1e6)
	if err != nil || sum.Future != 0 || sum.Points != 601 {
		t.Fatalf("query a day later: %+v, %v", sum, err)
	}
}

// TestAheadLimit: the tolerance never overflows past the largest time.
func TestAheadLimit(t *testing.T) {
	late := time.Unix(0, math.MaxInt64-10)
	if got := aheadLimit(late, time.Minute); got != math.MaxInt64 {
		t.Fatalf("%d", got)
	}
	if got := aheadLimit(time.Unix(0, 5), 3); got != 8 {
		t.Fatalf("%d", got)
	}
}
