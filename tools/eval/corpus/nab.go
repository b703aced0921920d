package corpus

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// nabLayout is how NAB writes times, in its CSV files and windows.json.
const nabLayout = "2006-01-02 15:04:05.999999"

// NABDir finds the shared NAB data: $VIGIL_NAB_DIR, else shared/data/nab
// in the working directory or one of its parents (the repository sits
// beside shared/), else /work/shared/data/nab.
func NABDir() (string, error) {
	if d := os.Getenv("VIGIL_NAB_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if c := filepath.Join(d, "shared", "data", "nab"); isDir(c) {
			return c, nil
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	if c := "/work/shared/data/nab"; isDir(c) {
		return c, nil
	}
	return "", errors.New("the NAB data (shared/data/nab) is not beside the repository: set VIGIL_NAB_DIR")
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// NAB reads the NAB series listed in dir's windows.json (all of them when
// only is empty, else those whose names are in only), with their windows.
func NAB(dir string, only ...string) (Corpus, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "windows.json"))
	if err != nil {
		return Corpus{}, err
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return Corpus{}, fmt.Errorf("windows.json: %w", err)
	}
	names := make([]string, 0, len(labels))
	for name := range labels {
		if len(only) == 0 || contains(only, name) {
			names = append(names, name)
		}
	}
	if len(only) > 0 && len(names) != len(only) {
		return Corpus{}, fmt.Errorf("windows.json lists %d of the %d series asked for", len(names), len(only))
	}
	sort.Strings(names)
	c := Corpus{Name: "nab"}
	for _, name := range names {
		s, err := readNABSeries(filepath.Join(dir, name))
		if err != nil {
			return Corpus{}, fmt.Errorf("%s: %w", name, err)
		}
		s.Name = name
		for _, w := range labels[name] {
			start, err1 := time.Parse(nabLayout, w[0])
			end, err2 := time.Parse(nabLayout, w[1])
			if err := errors.Join(err1, err2); err != nil {
				return Corpus{}, fmt.Errorf("%s: window: %w", name, err)
			}
			s.Windows = append(s.Windows, Window{start.UnixNano(), end.UnixNano()})
		}
		if err := s.Check(); err != nil {
			return Corpus{}, err
		}
		c.Series = append(c.Series, s)
	}
	return c, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// readNABSeries reads a NAB CSV file: a header, then timestamp,value rows.
// Two of NAB's files step back in time (around daylight-saving changes) and
// repeat times; as in InfluxDB, which keeps the last point written at a
// time, a later row replaces an earlier one at the same time, and the
// series is read in time order: what a store holds.
func readNABSeries(path string) (Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return Series{}, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	if _, err := r.Read(); err != nil {
		return Series{}, fmt.Errorf("header: %w", err)
	}
	var s Series
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return inTimeOrder(s), nil
		}
		if err != nil {
			return Series{}, err
		}
		t, err := time.Parse(nabLayout, rec[0])
		if err != nil {
			return Series{}, fmt.Errorf("line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return Series{}, fmt.Errorf("line %d: %w", line, err)
		}
		s.Times = append(s.Times, t.UnixNano())
		s.Values = append(s.Values, v)
	}
}

// inTimeOrder sorts s by time, keeping the last row written at each time.
func inTimeOrder(s Series) Series {
	idx := make([]int, len(s.Times))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.Times[idx[a]] < s.Times[idx[b]] })
	var out Series
	for _, i := range idx {
		if n := len(out.Times); n > 0 && out.Times[n-1] == s.Times[i] {
			out.Values[n-1] = s.Values[i] // stable: i was written after the row it replaces
			continue
		}
		out.Times = append(out.Times, s.Times[i])
		out.Values = append(out.Values, s.Values[i])
	}
	return out
}
