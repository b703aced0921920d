package eval

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil/vigil-anomaly-datasource/tools/eval/corpus"
)

var update = flag.Bool("update", false, "rewrite testdata/subset.json")

// subset is the test command's share of the evaluation (the full one runs
// in `go run mage.go eval`): four NAB series, one printer, three houses
// (a fleet for peers) and one server.
func subset(t *testing.T) []corpus.Corpus {
	t.Helper()
	dir, err := corpus.NABDir()
	if err != nil {
		t.Fatal(err)
	}
	nab, err := corpus.NAB(dir, "realKnownCause/nyc_taxi.csv", "realKnownCause/machine_temperature_system_failure.csv",
		"artificialWithAnomaly/art_daily_jumpsup.csv", "artificialNoAnomaly/art_noisy.csv")
	if err != nil {
		t.Fatal(err)
	}
	// first keeps the series of c's first n units (printer, house, server).
	first := func(c corpus.Corpus, n int) corpus.Corpus {
		units := map[string]bool{}
		out := corpus.Corpus{Name: c.Name}
		for _, s := range c.Series {
			unit := strings.SplitN(s.Name, "/", 2)[0]
			if !units[unit] && len(units) == n {
				continue
			}
			units[unit] = true
			out.Series = append(out.Series, s)
		}
		return out
	}
	return []corpus.Corpus{nab, first(corpus.Printers(Seed), 1), first(corpus.Household(Seed), 3), first(corpus.Servers(Seed), 1)}
}

// subsetGrid is how many of each detector's grid settings the subset tries.
const subsetGrid = 2

// TestEvalSubset runs the evaluation, a part of each grid included, on the subset
// and compares every number with testdata/subset.json (go test -update
// rewrites it): a change to a detector, the scorer or a corpus shows here.
func TestEvalSubset(t *testing.T) {
	if testing.Short() {
		t.Skip("the eval subset runs in the full test run (20 s, minutes under -race)")
	}
	profiles, err := Profiles()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Evaluate(context.Background(), subset(t), Detectors(), profiles, subsetGrid)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "subset.json")
	if *update {
		js, err := json.MarshalIndent(rows, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readRows(t, path)
	if len(rows) != len(want) {
		t.Fatalf("%d rows, golden %d", len(rows), len(want))
	}
	for i := range want {
		if msg := differ(rows[i], want[i]); msg != "" {
			t.Errorf("row %d (%s %s %s %s): %s", i, want[i].Detector, want[i].Corpus, want[i].Profile, want[i].Which, msg)
		}
	}
}

// TestPublishedTable checks that the README and results/eval.md show the
// table of results/eval.json, the full evaluation's output.
func TestPublishedTable(t *testing.T) {
	table := Markdown(readRows(t, filepath.Join("results", "eval.json")))
	md, err := os.ReadFile(filepath.Join("results", "eval.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != table {
		t.Error("results/eval.md is not the table of results/eval.json: run go run mage.go eval")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), tableBegin+table+tableEnd) {
		t.Error("the README's eval table is not results/eval.json's: run go run mage.go eval")
	}
}

func readRows(t *testing.T, path string) []Row {
	t.Helper()
	rows, err := ReadRows(path)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// differ compares two rows: names, setting and counts exactly, scores to
// a relative 1e-9 (the last bits of a p-value may differ where the
// compiler fuses a multiply and an add, as on arm64).
func differ(got, want Row) string {
	if got.Detector != want.Detector || got.Corpus != want.Corpus || got.Profile != want.Profile ||
		got.Which != want.Which || got.Setting.String() != want.Setting.String() {
		return "is another row: " + got.Which + " " + got.Setting.String() + ", golden " + want.Setting.String()
	}
	if got.Windows != want.Windows || got.Found != want.Found || got.FalseAlarms != want.FalseAlarms {
		return "counts differ"
	}
	for _, n := range [][2]Num{{got.Score, want.Score}, {got.Threshold, want.Threshold}, {got.OwnScore, want.OwnScore},
		{got.Precision, want.Precision}, {got.Recall, want.Recall}, {got.F1, want.F1}, {got.DelaySeconds, want.DelaySeconds}} {
		a, b := float64(n[0]), float64(n[1])
		if math.IsInf(a, 0) || math.IsNaN(a) {
			a = math.NaN() // JSON holds both as null
		}
		if !same(a, b) && math.Abs(a-b) > 1e-9*math.Max(math.Abs(a), math.Abs(b)) {
			return "numbers differ"
		}
	}
	return ""
}
