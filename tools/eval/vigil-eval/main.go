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
)

func main() {
	out := flag.String("out", filepath.Join("tools", "eval", "results"), "folder for eval.md and eval.json")
	readme := flag.String("readme", "README.md", `README whose table (between the eval markers) is replaced; "" for none`)
	flag.Parse()
	if err := run(*out, *readme); err != nil {
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
	table := eval.Markdown(rows)
	fmt.Print(table)
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
	if err := os.WriteFile(filepath.Join(out, "eval.md"), []byte(table), 0o644); err != nil {
		return err
	}
	if readme == "" {
		return nil
	}
	return eval.ReplaceTable(readme, table)
}
