package ttest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx/influxtest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// feeder hands the fake's test data to a fake as time passes.
type feeder struct {
	t    *testing.T
	fake *influxtest.Fake
	head string
	rows []string
}

func newFeeder(t *testing.T) *feeder {
	src, err := os.ReadFile(printersCSV)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(src)), "\n")
	return &feeder{t: t, fake: influxtest.New(), head: lines[1], rows: lines[2:]}
}

// until writes the rows before t.
func (f *feeder) until(t time.Time) {
	var chunk []string
	for len(f.rows) > 0 {
		ns, _ := strconv.ParseInt(strings.Split(f.rows[0], ",")[1], 10, 64)
		if ns >= t.UnixNano() {
			break
		}
		chunk, f.rows = append(chunk, f.rows[0]), f.rows[1:]
	}
	if err := f.fake.Load("printer/autogen", strings.NewReader(f.head+"\n"+strings.Join(chunk, "\n"))); err != nil {
		f.t.Fatal(err)
	}
}

// sameAnswer compares a cached answer with the stateless one: the same
// windows, each with the same point count, p to 1e-9 relative and t to 1e-9
// (absolute below |t| = 1).
func sameAnswer(t *testing.T, label string, got, want *Outcome) {
	t.Helper()
	g, w := byWindow(got), byWindow(want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d windows, stateless %d", label, len(g), len(w))
	}
	for k, x := range w {
		y, ok := g[k]
		if !ok || !close9(y, x) {
			t.Fatalf("%s: %s %s: cached %+v, stateless %+v", label, k.key, k.end.Format(time.TimeOnly), y, x)
		}
	}
}

// TestCacheMatchesStateless: many successive queries through one Cache, as
// an alert rule, panels and a restart send them (sliding and jumping ranges,
// ranges older than the state, data arriving as time passes, late points
// and points overwritten within the re-read horizon, two printers with a
// gap, every read mode),
// each compared with a fresh stateless run on the same data.
func TestCacheMatchesStateless(t *testing.T) {
	for _, mode := range []models.Mode{models.ModePoints, models.ModeWindows, models.ModeAuto} {
		t.Run(string(mode), func(t *testing.T) {
			f := newFeeder(t)
			cache := &Cache{MaxBytes: 64 << 20}
			ctx := context.Background()
			type step struct {
				to     time.Duration // the clock: data before it exists
				span   time.Duration
				warm   bool
				late   bool // write a point into the last window but one first
				redo   bool // overwrite points of the last window but one with other values
				slide  bool // a minute after the previous step
				newRun bool // the plugin restarted: a new, empty cache
			}
			var steps []step
			for m := 70; m <= 100; m++ { // a rule over now-30m, once a minute
				steps = append(steps, step{to: time.Duration(m)*time.Minute + 7*time.Second, span: 30 * time.Minute, warm: m > 70, late: m%7 == 0, redo: m%11 == 0, slide: m > 70})
			}
			steps = append(steps,
				step{to: 100*time.Minute + 7*time.Second, span: 90 * time.Minute},             // a panel over a longer range: older than the state
				step{to: 101*time.Minute + 7*time.Second, span: 30 * time.Minute, warm: true}, // the rule again, inside it
				step{to: 150 * time.Minute, span: 30 * time.Minute, warm: true},               // a jump ahead, within the lookback: read from the state
				step{to: 151 * time.Minute, span: 31 * time.Minute, warm: true},
				step{to: 152 * time.Minute, span: 3 * time.Minute, warm: true}, // shorter than the horizon
				step{to: 160 * time.Minute, span: 30 * time.Minute, warm: true},
				step{to: 161 * time.Minute, span: 30 * time.Minute, newRun: true},
				step{to: 170 * time.Minute, span: 45 * time.Minute}, // starts before the restarted state: cold
			)
			for i, s := range steps {
				to := day0.Add(s.to)
				f.until(to)
				if s.late {
					// Late for the window two windows back: inside the horizon.
					late := alignDown(to, 5*time.Minute).Add(-7 * time.Minute)
					f.fake.Write("printer/autogen", "temperatures", map[string]string{"printer": "p1"}, late.UnixNano()+1, map[string]any{"hotend": 221.5})
				}
				if s.redo {
					// A backfill corrects a minute already read: same times, other values.
					redo := alignDown(to, 5*time.Minute).Add(-8 * time.Minute)
					for sec := 0; sec < 60; sec++ {
						f.fake.Write("printer/autogen", "temperatures", map[string]string{"printer": "p2"},
							redo.Add(time.Duration(sec)*time.Second).UnixNano(), map[string]any{"bed": 97.0})
					}
				}
				if s.newRun {
					cache = &Cache{MaxBytes: 64 << 20}
				}
				req := fakeRequest(to.Add(-s.span), to, mode)
				got, err := cache.Run(ctx, f.fake, req)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Run(ctx, f.fake, req)
				if err != nil {
					t.Fatal(err)
				}
				label := fmt.Sprintf("step %d (to %s, span %s)", i, s.to, s.span)
				sameAnswer(t, label, got, want)
				if wantState := map[bool]string{true: StateWarm, false: StateCold}[s.warm && !s.newRun]; got.State != wantState {
					t.Fatalf("%s: state %s, want %s", label, got.State, wantState)
				}
				// A minute later, points mode reads the count rows and the
				// points new since the previous step, or from the settled
				// window end when a point arrived late.
				if s.slide && !s.late && !s.redo && mode != models.ModeWindows {
					counts, err := f.fake.SeriesCounts(ctx, req.Selection, day0.Add(steps[i-1].to), to)
					if err != nil {
						t.Fatal(err)
					}
					var fresh int64
					for _, c := range counts {
						fresh += c.N
					}
					if got.PointsRead > 2*fresh {
						t.Fatalf("%s: read %d points and rows, %d new", label, got.PointsRead, fresh)
					}
				}
				if s.slide && got.PointsRead*3 > want.PointsRead {
					t.Fatalf("%s: warm read %d points, the stateless run %d", label, got.PointsRead, want.PointsRead)
				}
			}
		})
	}
}

// TestCacheEvicts: over its byte cap the cache drops the least recently
// used entries, and an evicted query answers cold, the same.
func TestCacheEvicts(t *testing.T) {
	fake := printersFake(t)
	ctx := context.Background()
	var m countingMetrics
	cache := &Cache{MaxBytes: 1, Metrics: &m}
	to := day0.Add(2 * time.Hour)
	req := fakeRequest(to.Add(-30*time.Minute), to, models.ModePoints)
	for i := 0; i < 2; i++ {
		out, err := cache.Run(ctx, fake, req)
		if err != nil || out.State != StateCold {
			t.Fatalf("run %d: %v, state %s: a cache too small to keep one entry answers cold", i, err, out.State)
		}
	}
	if n, _ := cache.Size(); n != 0 || m.evictions != 2 || m.misses != 2 {
		t.Fatalf("entries %d, metrics %+v", n, m)
	}
	cache = &Cache{MaxBytes: 64 << 20, Metrics: &m}
	for _, fields := range [][]string{{"hotend"}, {"bed"}, {"hotend"}} {
		req.Selection.Fields = fields
		if _, err := cache.Run(ctx, fake, req); err != nil {
			t.Fatal(err)
		}
	}
	if n, bytes := cache.Size(); n != 2 || bytes <= 0 || m.hits != 1 || m.bytes != bytes {
		t.Fatalf("entries %d bytes %d, metrics %+v", n, bytes, m)
	}
}

type countingMetrics struct{ hits, misses, evictions, bytes int64 }

func (m *countingMetrics) Hit()          { m.hits++ }
func (m *countingMetrics) Miss()         { m.misses++ }
func (m *countingMetrics) Evict()        { m.evictions++ }
func (m *countingMetrics) Bytes(n int64) { m.bytes = n }
