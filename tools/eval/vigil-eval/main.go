// Command vigil-eval runs the detection-quality evaluation (`go run mage.go
// eval`): every detector at its defaults and at the best setting of its
// grid, on NAB's labelled series and the synthetic printer, household and
// server corpora, under NAB's three cost profiles. It prints the table and
// writes it as Markdown and JSON, and into the README between its markers.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/tools/eval"
	"github.com/vigil/vigil-anomaly-datasource/tools/eval/score"
)

func main() {
	out := flag.String("out", filepath.Join("tools", "eval", "results"), "folder for eval.md and eval.json")
	readme := flag.String("readme", "README.md", `README whose table (between the eval markers) is replaced; "" for none`)
	tune := flag.Bool("tune", false, "print, per detector, the thresholds (and seasons) whose own decisions score best, instead")
	render := flag.Bool("render", false, "write the table again from <out>/eval.json, without evaluating")
	flag.Parse()
	var err error
	switch {
	case *tune:
		err = tuneDefaults()
	case *render:
		err = rerender(*out, *readme)
	default:
		err = run(*out, *readme)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil-eval:", err)
		os.Exit(1)
	}
}

func run(out, readme string) error {
	began := time.Now()
	corpora, err := eval.Corpora()
	if err != nil {
		return err
	}
	profiles, err := eval.Profiles()
	if err != nil {
		return err
	}
	rows, err := eval.Evaluate(context.Background(), corpora, eval.Detectors(), profiles, -1)
	if err != nil {
		return err
	}
	fmt.Print(eval.Markdown(rows))
	fmt.Printf("evaluated in %s\n", time.Since(began).Round(time.Second))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rows, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "eval.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return publish(rows, out, readme)
}

// publish writes rows' table to <out>/eval.md and into the README.
func publish(rows []eval.Row, out, readme string) error {
	table := eval.Markdown(rows)
	if err := os.WriteFile(filepath.Join(out, "eval.md"), []byte(table), 0o644); err != nil {
		return err
	}
	if readme == "" {
		return nil
	}
	return eval.ReplaceTable(readme, table)
}

// rerender publishes the table of <out>/eval.json again (after a change to
// the table's layout).
func rerender(out, readme string) error {
	rows, err := eval.ReadRows(filepath.Join(out, "eval.json"))
	if err != nil {
		return err
	}
	return publish(rows, out, readme)
}

// tuneDefaults prints, per detector, its own decision's mean NAB score
// (standard profile) over the corpora for each candidate threshold (and, for
// seasonal, number of seasons) at the query's default window and history:
// how src/defaults.json's thresholds were chosen.
func tuneDefaults() error {
	corpora, err := eval.Corpora()
	if err != nil {
		return err
	}
	for _, d := range eval.Detectors() {
		if d.Name == "ttest" {
			continue // alpha is the t-test's documented cut
		}
		var candidates []eval.Setting
		for _, k := range []float64{2, 3, 4, 5, 6, 8, 10, 12} {
			f := map[string]any{"threshold": k}
			if d.Name == "seasonal" {
				for _, n := range []int{2, 4, 8} {
					candidates = append(candidates, eval.Setting{Fields: map[string]any{"threshold": k, "seasons": n}})
				}
				continue
			}
			candidates = append(candidates, eval.Setting{Fields: f})
		}
		ranked, err := eval.Tune(context.Background(), corpora, d, score.Standard, candidates)
		if err != nil {
			return err
		}
		for _, r := range ranked {
			fmt.Printf("%s\t%s\tmean %.1f\t%v\n", d.Name, r.Setting, r.Mean, r.Own)
		}
	}
	return nil
}
