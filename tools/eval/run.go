package eval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx/influxtest"
	"github.com/vigil/vigil-anomaly-datasource/tools/eval/corpus"
	"github.com/vigil/vigil-anomaly-datasource/tools/eval/score"
)

// RowScores turns window scores into row scores without look-ahead: a
// window's score is known once the window has ended, so it becomes the
// score of the first row at or after its end (the highest, when several
// windows end before the same row). Rows no window reaches are NaN. A
// score of +Inf (p = 0, or a deviation from a baseline without spread)
// becomes the largest float64, so that a threshold of +Inf still means
// "detect nothing" to the scorer. ws must be in order of End.
func RowScores(times []int64, ws []WindowScore) []float64 {
	out := make([]float64, len(times))
	for i := range out {
		out[i] = math.NaN()
	}
	i := 0
	for _, w := range ws {
		for i < len(times) && times[i] < w.End {
			i++
		}
		if i == len(times) {
			break
		}
		if sc := math.Min(w.Score, math.MaxFloat64); math.IsNaN(out[i]) || sc > out[i] {
			out[i] = sc
		}
	}
	return out
}

// GroupScores runs detector d at setting s over a group of series that
// src holds (see Load), as one query, and returns each series' row scores.
func GroupScores(ctx context.Context, d Detector, s Setting, src influx.Reader, group []*corpus.Series) ([][]float64, error) {
	from, to, step := Span(group)
	ws, err := d.Scores(ctx, src, from, to, step, s)
	if err != nil {
		return nil, fmt.Errorf("%s on %s (%s): %w", d.Name, group[0].Name, s, err)
	}
	out := make([][]float64, len(group))
	for i, sr := range group {
		w := ws[sr.Name]
		sort.SliceStable(w, func(i, j int) bool { return w[i].End < w[j].End })
		out[i] = RowScores(sr.Times, w)
	}
	return out, nil
}

// Span is what one query over a group of series reads: from the first row
// of any of them to the last, at the step of the first.
func Span(group []*corpus.Series) (from, to time.Time, step time.Duration) {
	first, last := group[0].Times[0], group[0].Times[len(group[0].Times)-1]
	for _, sr := range group[1:] {
		first, last = min(first, sr.Times[0]), max(last, sr.Times[len(sr.Times)-1])
	}
	return time.Unix(0, first).UTC(), time.Unix(0, last).UTC(), time.Duration(group[0].Step())
}

// Load writes series into a fake InfluxDB where Detector.Scores reads
// them, each tagged with its name.
func Load(group ...*corpus.Series) *influxtest.Fake {
	f := influxtest.New()
	for _, sr := range group {
		tags := map[string]string{seriesTag: sr.Name}
		for i, t := range sr.Times {
			f.Write(Evaluated.Bucket, Evaluated.Measurement, tags, t, map[string]any{Evaluated.Fields[0]: sr.Values[i]})
		}
	}
	return f
}

// groups are the indexes of c's series that d reads as one query: each
// series alone, or (a fleet detector) the series sharing a field, the last
// part of their names.
func groups(c corpus.Corpus, fleet bool) [][]int {
	var out [][]int
	byField := map[string]int{}
	for i, s := range c.Series {
		field := s.Name[strings.LastIndex(s.Name, "/")+1:]
		if g, ok := byField[field]; ok && fleet {
			out[g] = append(out[g], i)
			continue
		}
		byField[field] = len(out)
		out = append(out, []int{i})
	}
	return out
}

// Row is one line of the evaluation's table: a detector at one setting on
// one corpus under one cost profile.
type Row struct {
	Detector string `json:"detector"`
	Corpus   string `json:"corpus"`
	Profile  string `json:"profile"`
	// Which is "defaults" or "best" (the grid's best for this corpus and profile).
	Which   string  `json:"which"`
	Setting Setting `json:"setting"`
	// Score is NAB's normalized score, at the one threshold (Threshold;
	// null when detecting nothing scores best) that scores best on the
	// corpus; the counts below are at that threshold.
	Score     Num `json:"score"`
	Threshold Num `json:"threshold"`
	// OwnScore is the normalized score when the detector's own decision
	// (score above 1: the anomaly output) is the detection.
	OwnScore     Num `json:"ownScore"`
	Windows      int `json:"windows"`
	Found        int `json:"found"`
	FalseAlarms  int `json:"falseAlarms"`
	Precision    Num `json:"precision"`
	Recall       Num `json:"recall"`
	F1           Num `json:"f1"`
	DelaySeconds Num `json:"delaySeconds"`
}

func newRow(d Detector, c corpus.Corpus, p score.Profile, which string, s Setting, in []score.Input) (Row, error) {
	best, err := score.Best(in, p)
	if err != nil {
		return Row{}, err
	}
	own, err := score.At(in, p, ownThreshold)
	if err != nil {
		return Row{}, err
	}
	k := best.Counts
	return Row{Detector: d.Name, Corpus: c.Name, Profile: p.Name, Which: which, Setting: s,
		Score: Num(best.Normalized), Threshold: Num(best.Threshold), OwnScore: Num(own.Normalized),
		Windows: k.Windows, Found: k.Found, FalseAlarms: k.FalseAlarms,
		Precision: Num(k.Precision), Recall: Num(k.Recall), F1: Num(k.F1), DelaySeconds: Num(k.MeanDelay.Seconds())}, nil
}

// ownThreshold makes "score >= threshold" mean "score > 1".
var ownThreshold = math.Nextafter(1, 2)

// Evaluate scores every detector on every corpus under every profile, at
// its defaults and at the first gridSize settings of its grid (all of them
// when gridSize < 0), reporting the defaults and the grid's best (by NAB
// score at its best threshold).
func Evaluate(ctx context.Context, corpora []corpus.Corpus, dets []Detector, profiles []score.Profile, gridSize int) ([]Row, error) {
	var rows []Row
	for _, c := range corpora {
		for _, d := range dets {
			n := len(d.Grid)
			if gridSize >= 0 {
				n = min(gridSize, n)
			}
			settings := append([]Setting{{}}, d.Grid[:n]...)
			inputs, err := corpusInputs(ctx, c, d, settings)
			if err != nil {
				return nil, err
			}
			for _, p := range profiles {
				row := func(which string, i int) (Row, error) { return newRow(d, c, p, which, settings[i], inputs[i]) }
				def, err := row("defaults", 0)
				if err != nil {
					return nil, err
				}
				rows = append(rows, def)
				if len(settings) == 1 {
					continue
				}
				var best Row
				for i := 1; i < len(settings); i++ {
					r, err := row("best", i)
					if err != nil {
						return nil, err
					}
					if i == 1 || r.Score > best.Score {
						best = r
					}
				}
				rows = append(rows, best)
			}
		}
	}
	return rows, nil
}

// corpusInputs runs every setting over every series of c, the groups of
// series in parallel, and returns the scorer's inputs per setting.
func corpusInputs(ctx context.Context, c corpus.Corpus, d Detector, settings []Setting) ([][]score.Input, error) {
	inputs := make([][]score.Input, len(settings))
	for i := range inputs {
		inputs[i] = make([]score.Input, len(c.Series))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan []int)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range next {
				group := make([]*corpus.Series, len(idx))
				for k, j := range idx {
					group[k] = &c.Series[j]
				}
				src := Load(group...)
				for i, s := range settings {
					sc, err := GroupScores(ctx, d, s, src, group)
					if err != nil {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						break
					}
					for k, j := range idx {
						inputs[i][j] = score.Input{Times: group[k].Times, Scores: sc[k], Windows: group[k].Windows}
					}
				}
			}
		}()
	}
	for _, g := range groups(c, d.Fleet) {
		next <- g
	}
	close(next)
	wg.Wait()
	return inputs, first
}

// Tuning is one candidate default of a detector: its setting (at the
// query's default window) and, per corpus, the NAB score of its own
// decision (score above 1) under the profile, with their mean.
type Tuning struct {
	Setting Setting            `json:"setting"`
	Own     map[string]float64 `json:"own"`
	Mean    float64            `json:"mean"`
}

// Tune scores each candidate setting's own decision on every corpus: the
// defaults are chosen by what a user gets from the anomaly output (alerting
// on score > 1), not by NAB's best threshold, which the user never sets.
// The candidates are best first.
func Tune(ctx context.Context, corpora []corpus.Corpus, d Detector, p score.Profile, candidates []Setting) ([]Tuning, error) {
	out := make([]Tuning, len(candidates))
	for i, s := range candidates {
		out[i] = Tuning{Setting: s, Own: map[string]float64{}}
	}
	for _, c := range corpora {
		inputs, err := corpusInputs(ctx, c, d, candidates)
		if err != nil {
			return nil, err
		}
		for i := range candidates {
			r, err := score.At(inputs[i], p, ownThreshold)
			if err != nil {
				return nil, err
			}
			out[i].Own[c.Name] = r.Normalized
			out[i].Mean += r.Normalized / float64(len(corpora))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Mean > out[j].Mean })
	return out, nil
}
