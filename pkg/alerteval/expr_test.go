package alerteval

import (
	"fmt"
	"math"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/dataplane"
)

func series(vs ...*float64) result {
	return result{items: []item{{labels: data.Labels{"field": "f"}, series: &dataplane.Series{Name: "v", Labels: data.Labels{"field": "f"}, Values: vs}}}}
}

func p(v float64) *float64 { return &v }

func show(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}

func TestReduce(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		reducer, mode string
		in            []*float64
		want          string
	}{
		{"last", ModeStrict, []*float64{p(1), p(2)}, "2"},
		{"last", ModeStrict, []*float64{p(1), p(nan)}, "NaN"},
		{"last", ModeStrict, []*float64{p(1), nil}, "null"},
		{"last", ModeStrict, nil, "NaN"},
		{"last", ModeDropNN, []*float64{p(1), p(nan), nil, p(inf)}, "1"},
		{"last", ModeDropNN, []*float64{p(nan)}, "null"},
		{"last", ModeDropNN, nil, "null"},
		{"last", ModeReplaceNN, []*float64{p(1), p(nan)}, "-1"},
		{"last", ModeReplaceNN, nil, "-1"},
		{"mean", ModeStrict, []*float64{p(1), p(2), p(6)}, "3"},
		{"mean", ModeStrict, []*float64{p(1), nil}, "NaN"},
		{"mean", ModeStrict, nil, "NaN"},
		{"mean", ModeDropNN, []*float64{p(1), nil, p(3), p(nan)}, "2"},
		{"mean", ModeReplaceNN, []*float64{p(1), nil}, "0"},
		{"min", ModeStrict, []*float64{p(3), p(-1), p(2)}, "-1"},
		{"min", ModeStrict, []*float64{p(3), p(nan)}, "NaN"},
		{"min", ModeDropNN, []*float64{p(3), p(nan), p(inf)}, "3"},
		{"max", ModeStrict, []*float64{p(3), p(-1), p(7)}, "7"},
		{"max", ModeStrict, nil, "NaN"},
		{"sum", ModeStrict, []*float64{p(1), p(2)}, "3"},
		{"sum", ModeStrict, nil, "0"},
		{"sum", ModeStrict, []*float64{p(1), nil}, "NaN"},
		{"sum", ModeDropNN, []*float64{p(nan)}, "0"},
		{"count", ModeStrict, []*float64{p(1), nil, p(nan)}, "3"},
		{"count", ModeDropNN, []*float64{p(1), nil, p(nan)}, "1"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %q %v", tc.reducer, tc.mode, len(tc.in)), func(t *testing.T) {
			out, err := reduce(series(tc.in...), tc.reducer, tc.mode, -1)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(out.items[0].number); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			if out.items[0].labels.String() != "field=f" {
				t.Fatalf("labels %v", out.items[0].labels)
			}
		})
	}
	if _, err := reduce(series(p(1)), "median2", ModeStrict, 0); err == nil {
		t.Error("unknown reducer accepted")
	}
	if out, _ := reduce(result{noData: true}, "last", ModeStrict, 0); !out.noData {
		t.Error("NoData not passed on")
	}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		typ    string
		params []float64
		in     *float64
		want   string
	}{
		{"gt", []float64{4}, p(5), "1"},
		{"gt", []float64{4}, p(4), "0"},
		{"lt", []float64{0.001}, p(1e-9), "1"},
		{"lt", []float64{0.001}, p(0.001), "0"},
		{"lt", []float64{0.001}, p(math.NaN()), "0"},
		{"lt", []float64{0.001}, nil, "null"},
		{"gte", []float64{4}, p(4), "1"},
		{"lte", []float64{4}, p(4.5), "0"},
		{"eq", []float64{4}, p(4), "1"},
		{"ne", []float64{4}, p(math.NaN()), "1"},
		{"within_range", []float64{1, 2}, p(1), "0"},
		{"within_range_included", []float64{1, 2}, p(1), "1"},
		{"outside_range", []float64{1, 2}, p(2), "0"},
		{"outside_range_included", []float64{1, 2}, p(2), "1"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v %s", tc.typ, tc.params, show(tc.in)), func(t *testing.T) {
			out, err := threshold(result{items: []item{{labels: data.Labels{"a": "b"}, number: tc.in}}}, tc.typ, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(out.items[0].number); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := threshold(result{}, "within_range", []float64{1}); err == nil {
		t.Error("within_range with one param accepted")
	}
	if _, err := threshold(result{}, "between", []float64{1}); err == nil {
		t.Error("unknown threshold accepted")
	}
}

func TestMath(t *testing.T) {
	two := result{items: []item{{labels: data.Labels{"field": "a"}, number: p(2)}, {labels: data.Labels{"field": "b"}, number: p(-3)}}}
	results := map[string]result{
		"B": two,
		"N": {items: []item{{number: p(10)}}},
		"X": {items: []item{{labels: data.Labels{"field": "a"}, number: nil}}},
	}
	tests := []struct {
		expr string
		want []string // per item
	}{
		{"$B * 2 + 1", []string{"5", "-5"}},
		{"${B} > 0", []string{"1", "0"}},
		{"abs($B) >= 3 || $B == 2", []string{"1", "1"}},
		{"!($B < 0) && 1", []string{"1", "0"}},
		{"$B + $N", []string{"12", "7"}},
		{"-($B ** 2)", []string{"-4", "-9"}},
		{"$B / 0 > 1e3", []string{"1", "0"}},
		{"$B + $X", []string{"null"}},
		{"(1 + 2) * 3 % 4", []string{"1"}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			out, err := evalMath(tc.expr, results)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.items) != len(tc.want) {
				t.Fatalf("%d items, want %d", len(out.items), len(tc.want))
			}
			for i, w := range tc.want {
				if got := show(out.items[i].number); got != w {
					t.Errorf("item %d = %s, want %s", i, got, w)
				}
			}
		})
	}
	for _, bad := range []string{"$B +", "(1", "$B $B", "foo(1)"} {
		if _, err := evalMath(bad, results); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
