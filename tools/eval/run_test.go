package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/tools/eval/corpus"
)

func TestRowScores(t *testing.T) {
	nan := math.NaN()
	times := []int64{0, 10, 20, 30, 40}
	for _, c := range []struct {
		name string
		ws   []WindowScore
		want []float64
	}{
		{"a window's score lands on the row at its end", []WindowScore{{20, 3}}, []float64{nan, nan, 3, nan, nan}},
		{"or on the first row after it", []WindowScore{{21, 3}}, []float64{nan, nan, nan, 3, nan}},
		{"two windows ending before one row: the higher", []WindowScore{{11, 2}, {15, 5}, {19, 1}}, []float64{nan, nan, 5, nan, nan}},
		{"a window ending after the last row is lost", []WindowScore{{41, 9}}, []float64{nan, nan, nan, nan, nan}},
		{"a NaN score stays no score", []WindowScore{{10, nan}, {30, 1}}, []float64{nan, nan, nan, 1, nan}},
		{"a NaN does not hide a score at the same row", []WindowScore{{9, nan}, {10, 4}}, []float64{nan, 4, nan, nan, nan}},
		{"+Inf is the largest float", []WindowScore{{0, math.Inf(1)}}, []float64{math.MaxFloat64, nan, nan, nan, nan}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := RowScores(times, c.ws)
			for i := range got {
				if !same(got[i], c.want[i]) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// TestScoresDoNotLookAhead changes a series from row k on (values, times,
// length) and checks that no score up to row k moves, for every detector at
// its defaults and every grid setting: row k's score comes from windows
// that ended by its time, which hold only earlier rows. The fleet detector
// reads the changed series with three unchanged peers.
func TestScoresDoNotLookAhead(t *testing.T) {
	const n, k = 4032, 3900
	base := noisy(n, 7)
	future := noisy(n, 7)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := k; i < len(future.Values); i++ {
		future.Values[i] = 50 + 30*rng.NormFloat64() // a different future
	}
	// and a gap after row k, then one last row
	future.Times = append(future.Times[:k+1:k+1], future.Times[k]+time.Hour.Nanoseconds())
	future.Values = future.Values[:k+2]
	peers := []*corpus.Series{}
	for seed := range uint64(3) {
		p := noisy(n, 100+seed)
		p.Name = fmt.Sprintf("peer-%d", seed)
		peers = append(peers, &p)
	}
	for _, d := range Detectors() {
		scored := 0
		for _, s := range append([]Setting{{}}, d.Grid...) {
			scores := func(sr *corpus.Series) []float64 {
				group := []*corpus.Series{sr}
				if d.Fleet {
					group = append(group, peers...)
				}
				sc, err := GroupScores(context.Background(), d, s, Load(group...), group)
				if err != nil {
					t.Fatal(err)
				}
				return sc[0]
			}
			a, b := scores(&base), scores(&future)
			for i := 0; i <= k; i++ {
				if !same(a[i], b[i]) {
					t.Fatalf("%s %s: row %d scored %v, and %v with another future", d.Name, s, i, a[i], b[i])
				}
				if !math.IsNaN(a[i]) {
					scored++
				}
			}
		}
		// Not every setting judges this series (Holt-Winters' defaults, 5m
		// windows on 10-minute data, see every other window missing and
		// never finish their warm-up), but every detector must.
		if scored == 0 {
			t.Errorf("%s: no row before %d scored: the test checks nothing", d.Name, k)
		}
	}
}

// noisy is a series of n rows 10 minutes apart, Gaussian around 20 with a
// level shift at two thirds (four weeks for n = 4032: Holt-Winters with a
// weekly season fits three weeks and judges the fourth).
func noisy(n int, seed uint64) corpus.Series {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := corpus.Series{Name: "noisy"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range n {
		v := 20 + rng.NormFloat64()
		if i > 2*n/3 {
			v += 5
		}
		s.Times = append(s.Times, t0+int64(i)*10*time.Minute.Nanoseconds())
		s.Values = append(s.Values, v)
	}
	return s
}
