package alerteval

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/dataplane"
)

// item is one value of a refId's result: a series (from a data source) or
// a number (a reduced value; nil is a null).
type item struct {
	labels data.Labels
	series *dataplane.Series
	number *float64
}

func (it item) isSeries() bool { return it.series != nil }

// result is what a refId evaluated to; noData is Grafana's NoData value,
// which expressions pass on unchanged.
type result struct {
	noData bool
	items  []item
}

func fromResponse(r *dataplane.Response) result {
	if r.NoData {
		return result{noData: true}
	}
	var out result
	for i := range r.Series {
		s := r.Series[i]
		out.items = append(out.items, item{labels: s.Labels, series: &s})
	}
	for _, n := range r.Numbers {
		out.items = append(out.items, item{labels: n.Labels, number: n.Value})
	}
	return out
}

// Reducers and modes of Grafana's reduce expression.
const (
	ModeStrict    = ""
	ModeDropNN    = "dropNN"
	ModeReplaceNN = "replaceNN"
)

type reduceModel struct {
	Expression string `json:"expression"`
	Reducer    string `json:"reducer"`
	Settings   *struct {
		Mode             string   `json:"mode"`
		ReplaceWithValue *float64 `json:"replaceWithValue"`
	} `json:"settings"`
}

// reduce turns each series into a number, as Grafana's mathexp
// Series.Reduce: strict mode reduces the raw points (a null or NaN point
// makes sum/mean/min/max NaN; last returns the last point as it is, null
// included; an empty series gives NaN, and 0 for sum and count); dropNN
// first drops null, NaN and ±Inf points and turns a NaN result into null;
// replaceNN replaces them (and a NaN result) with replaceWithValue. Numbers
// pass through; NoData stays NoData.
func reduce(in result, reducer, mode string, replace float64) (result, error) {
	if in.noData {
		return in, nil
	}
	fn, ok := reducers[reducer]
	if !ok {
		return result{}, fmt.Errorf("reducer %q not supported (want one of %v)", reducer, refIDs(reducers))
	}
	out := result{items: make([]item, 0, len(in.items))}
	for _, it := range in.items {
		if !it.isSeries() {
			out.items = append(out.items, item{labels: it.labels, number: it.number})
			continue
		}
		values := it.series.Values
		if mode != ModeStrict {
			mapped := make([]*float64, 0, len(values))
			for _, v := range values {
				numeric := v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0)
				switch {
				case numeric:
					mapped = append(mapped, v)
				case mode == ModeReplaceNN:
					r := replace
					mapped = append(mapped, &r)
				}
			}
			values = mapped
		}
		v := fn(values)
		if v != nil && math.IsNaN(*v) {
			switch mode {
			case ModeDropNN:
				v = nil
			case ModeReplaceNN:
				r := replace
				v = &r
			}
		}
		out.items = append(out.items, item{labels: it.labels.Copy(), number: v})
	}
	return out, nil
}

func nan() *float64 { f := math.NaN(); return &f }

func sum(vs []*float64) *float64 {
	var s float64
	for _, v := range vs {
		if v == nil || math.IsNaN(*v) {
			return nan()
		}
		s += *v
	}
	return &s
}

var reducers = map[string]func([]*float64) *float64{
	"sum": sum,
	"mean": func(vs []*float64) *float64 {
		m := *sum(vs) / float64(len(vs))
		return &m
	},
	"min": func(vs []*float64) *float64 { return extreme(vs, func(a, b float64) bool { return a < b }) },
	"max": func(vs []*float64) *float64 { return extreme(vs, func(a, b float64) bool { return a > b }) },
	"count": func(vs []*float64) *float64 {
		c := float64(len(vs))
		return &c
	},
	"last": func(vs []*float64) *float64 {
		if len(vs) == 0 {
			return nan()
		}
		return vs[len(vs)-1]
	},
}

func extreme(vs []*float64, better func(a, b float64) bool) *float64 {
	if len(vs) == 0 {
		return nan()
	}
	var f float64
	for i, v := range vs {
		if v == nil || math.IsNaN(*v) {
			return nan()
		}
		if i == 0 || better(*v, f) {
			f = *v
		}
	}
	return &f
}

type thresholdModel struct {
	Expression string `json:"expression"`
	Conditions []struct {
		Evaluator struct {
			Type   string    `json:"type"`
			Params []float64 `json:"params"`
		} `json:"evaluator"`
	} `json:"conditions"`
}

// thresholdFuncs are Grafana's threshold evaluator types and the number of
// params each needs; a comparison with NaN is false (so ne is true).
var thresholdFuncs = map[string]struct {
	params int
	eval   func(v float64, p []float64) bool
}{
	"gt":                     {1, func(v float64, p []float64) bool { return v > p[0] }},
	"lt":                     {1, func(v float64, p []float64) bool { return v < p[0] }},
	"eq":                     {1, func(v float64, p []float64) bool { return v == p[0] }},
	"ne":                     {1, func(v float64, p []float64) bool { return v != p[0] }},
	"gte":                    {1, func(v float64, p []float64) bool { return v >= p[0] }},
	"lte":                    {1, func(v float64, p []float64) bool { return v <= p[0] }},
	"within_range":           {2, func(v float64, p []float64) bool { return v > p[0] && v < p[1] }},
	"outside_range":          {2, func(v float64, p []float64) bool { return v < p[0] || v > p[1] }},
	"within_range_included":  {2, func(v float64, p []float64) bool { return v >= p[0] && v <= p[1] }},
	"outside_range_included": {2, func(v float64, p []float64) bool { return v <= p[0] || v >= p[1] }},
}

// threshold maps each number to 1 or 0 (null stays null, NoData stays
// NoData), as Grafana's ThresholdCommand with exactly one condition.
func threshold(in result, typ string, params []float64) (result, error) {
	fn, ok := thresholdFuncs[typ]
	if !ok {
		return result{}, fmt.Errorf("threshold type %q not supported", typ)
	}
	if len(params) < fn.params {
		return result{}, fmt.Errorf("threshold %s needs %d params, got %d", typ, fn.params, len(params))
	}
	if in.noData {
		return in, nil
	}
	out := result{items: make([]item, 0, len(in.items))}
	for _, it := range in.items {
		if it.isSeries() {
			return result{}, fmt.Errorf("threshold over a series is not supported here: reduce it first")
		}
		var v *float64
		if it.number != nil {
			b := 0.0
			if fn.eval(*it.number, params) {
				b = 1
			}
			v = &b
		}
		out.items = append(out.items, item{labels: it.labels, number: v})
	}
	return out, nil
}

// runExpression evaluates one expression query against the results so far.
func runExpression(q Query, results map[string]result) (result, error) {
	raw, err := json.Marshal(q.Model)
	if err != nil {
		return result{}, err
	}
	var head struct {
		Type       string `json:"type"`
		Expression string `json:"expression"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return result{}, err
	}
	input := func(ref string) (result, error) {
		r, ok := results[ref]
		if !ok {
			return result{}, fmt.Errorf("%w: %q", errNotYet, ref)
		}
		return r, nil
	}
	switch head.Type {
	case "reduce":
		var m reduceModel
		if err := json.Unmarshal(raw, &m); err != nil {
			return result{}, err
		}
		in, err := input(m.Expression)
		if err != nil {
			return result{}, err
		}
		mode, replace := ModeStrict, 0.0
		if m.Settings != nil {
			mode = m.Settings.Mode
			if mode == ModeReplaceNN {
				if m.Settings.ReplaceWithValue == nil {
					return result{}, fmt.Errorf("mode replaceNN needs settings.replaceWithValue")
				}
				replace = *m.Settings.ReplaceWithValue
			}
		}
		if mode != ModeStrict && mode != ModeDropNN && mode != ModeReplaceNN {
			return result{}, fmt.Errorf("reduce mode %q not supported", mode)
		}
		return reduce(in, m.Reducer, mode, replace)
	case "threshold":
		var m thresholdModel
		if err := json.Unmarshal(raw, &m); err != nil {
			return result{}, err
		}
		if len(m.Conditions) != 1 {
			return result{}, fmt.Errorf("threshold needs exactly one condition, got %d", len(m.Conditions))
		}
		in, err := input(m.Expression)
		if err != nil {
			return result{}, err
		}
		return threshold(in, m.Conditions[0].Evaluator.Type, m.Conditions[0].Evaluator.Params)
	case "math":
		return evalMath(head.Expression, results)
	}
	return result{}, fmt.Errorf("expression type %q not supported (reduce, threshold, math)", head.Type)
}

// sortItems orders items by labels, for stable instances.
func sortItems(items []item) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].labels.String() < items[j].labels.String() })
}
