package eval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

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

// SeriesScores runs one detector setting over one series, read through a
// fake InfluxDB holding it (the query path), and returns its row scores.
func SeriesScores(ctx context.Context, d Detector, s Setting, src *influxtest.Fake, sr *corpus.Series) ([]float64, error) {
	from, to := time.Unix(0, sr.Times[0]).UTC(), time.Unix(0, sr.Times[len(sr.Times)-1]).UTC()
	ws, err := d.Scores(ctx, src, from, to, time.Duration(sr.Step()), s)
	if err != nil {
		return nil, fmt.Errorf("%s on %s (%s): %w", d.Name, sr.Name, s, err)
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].End < ws[j].End })
	return RowScores(sr.Times, ws), nil
}

// Load writes a series into a fake InfluxDB where Detector.Scores reads it.
func Load(sr *corpus.Series) *influxtest.Fake {
	f := influxtest.New()
	for i, t := range sr.Times {
		f.Write(Evaluated.Bucket, Evaluated.Measurement, nil, t, map[string]any{Evaluated.Fields[0]: sr.Values[i]})
	}
	return f
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
// its defaults and, when grid is set, at every grid setting, reporting the
// defaults and the grid's best (by NAB score at its best threshold).
func Evaluate(ctx context.Context, corpora []corpus.Corpus, dets []Detector, profiles []score.Profile, grid bool) ([]Row, error) {
	var rows []Row
	for _, c := range corpora {
		for _, d := range dets {
			settings := []Setting{d.Defaults}
			if grid {
				settings = append(settings, d.Grid...)
			}
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
				if !grid {
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

// corpusInputs runs every setting over every series of c, the series in
// parallel, and returns the scorer's inputs per setting.
func corpusInputs(ctx context.Context, c corpus.Corpus, d Detector, settings []Setting) ([][]score.Input, error) {
	inputs := make([][]score.Input, len(settings))
	for i := range inputs {
		inputs[i] = make([]score.Input, len(c.Series))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				sr := &c.Series[j]
				src := Load(sr)
				for i, s := range settings {
					sc, err := SeriesScores(ctx, d, s, src, sr)
					if err != nil {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						break
					}
					inputs[i][j] = score.Input{Times: sr.Times, Scores: sc, Windows: sr.Windows}
				}
			}
		}()
	}
	for j := range c.Series {
		next <- j
	}
	close(next)
	wg.Wait()
	return inputs, first
}
