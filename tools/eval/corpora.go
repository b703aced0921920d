package eval

import (
	"bytes"
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"

	"github.com/vigil/vigil-anomaly-datasource/tools/eval/corpus"
	"github.com/vigil/vigil-anomaly-datasource/tools/eval/score"
)

// Seed generates the synthetic corpora of the published table.
const Seed = 1

// Corpora are the evaluation's labelled corpora: NAB's series, then the
// synthetic printers, households and servers.
func Corpora() ([]corpus.Corpus, error) {
	dir, err := corpus.NABDir()
	if err != nil {
		return nil, err
	}
	nab, err := corpus.NAB(dir)
	if err != nil {
		return nil, err
	}
	return []corpus.Corpus{nab, corpus.Printers(Seed), corpus.Household(Seed), corpus.Servers(Seed)}, nil
}

// Profiles are NAB's cost profiles, read from NAB's profiles.json, in the
// order NAB reports them (standard first).
func Profiles() ([]score.Profile, error) {
	dir, err := corpus.NABDir()
	if err != nil {
		return nil, err
	}
	ps, err := score.LoadProfiles(filepath.Join(dir, "profiles.json"))
	if err != nil {
		return nil, err
	}
	rank := func(p score.Profile) int {
		return slices.IndexFunc(score.Profiles(), func(q score.Profile) bool { return q.Name == p.Name })
	}
	slices.SortStableFunc(ps, func(a, b score.Profile) int { return cmp.Compare(uint(rank(a)), uint(rank(b))) }) // unknown (-1) last
	return ps, nil
}

// The README's table sits between these markers.
const (
	tableBegin = "<!-- eval table: written by `go run mage.go eval` -->\n"
	tableEnd   = "<!-- end of eval table -->\n"
)

// ReplaceTable writes table between the markers in the file at path.
func ReplaceTable(path, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i := bytes.Index(b, []byte(tableBegin))
	j := bytes.Index(b, []byte(tableEnd))
	if i < 0 || j < i {
		return errors.New(path + " has no eval table markers")
	}
	out := append([]byte(nil), b[:i+len(tableBegin)]...)
	out = append(out, table...)
	out = append(out, b[j:]...)
	return os.WriteFile(path, out, 0o644)
}
