package corpus

import (
	"testing"
	"time"
)

func TestNABReadsEverySeriesWithItsWindows(t *testing.T) {
	dir, err := NABDir()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NAB(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Series) != 18 {
		t.Fatalf("%d series, want NAB's 18", len(c.Series))
	}
	windows := 0
	for _, s := range c.Series {
		windows += len(s.Windows)
	}
	// NAB's labels for these 18 files (windows.json): 6 artificial with one
	// window each, 19 in the 7 real ones, none in the 5 without anomalies.
	if windows != 25 {
		t.Errorf("%d windows", windows)
	}
	taxi := find(t, c, "realKnownCause/nyc_taxi.csv")
	if n := len(taxi.Times); n != 10320 {
		t.Errorf("nyc_taxi: %d rows, want 10320", n)
	}
	if got := time.Duration(taxi.Step()); got != 30*time.Minute {
		t.Errorf("nyc_taxi step %v", got)
	}
	ec2 := find(t, c, "realKnownCause/ec2_request_latency_system_failure.csv")
	if n := len(ec2.Times); n != 4032-11 {
		t.Errorf("ec2 latency: %d rows, want NAB's 4032 less its 11 repeated times", n)
	}
	first := time.Date(2014, 10, 30, 15, 30, 0, 0, time.UTC).UnixNano()
	if taxi.Windows[0].Start != first {
		t.Errorf("nyc_taxi's first window starts at %v", time.Unix(0, taxi.Windows[0].Start).UTC())
	}
}

func TestNABSubsetAndErrors(t *testing.T) {
	dir, err := NABDir()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NAB(dir, "artificialNoAnomaly/art_flatline.csv")
	if err != nil || len(c.Series) != 1 || len(c.Series[0].Windows) != 0 {
		t.Fatalf("subset: %v, %+v", err, c)
	}
	if _, err := NAB(dir, "nope.csv"); err == nil {
		t.Error("an unknown series is not an error")
	}
	if _, err := NAB(t.TempDir()); err == nil {
		t.Error("a folder without windows.json is not an error")
	}
}

func find(t *testing.T, c Corpus, name string) Series {
	t.Helper()
	for _, s := range c.Series {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("%s not in %s", name, c.Name)
	return Series{}
}

func TestInTimeOrderKeepsTheLastWriteAtATime(t *testing.T) {
	// As NAB's machine temperature file: an hour repeated after a step back.
	in := Series{Times: []int64{10, 20, 30, 20, 40, 40}, Values: []float64{1, 2, 3, 4, 5, 6}}
	got := inTimeOrder(in)
	wantT, wantV := []int64{10, 20, 30, 40}, []float64{1, 4, 3, 6}
	if len(got.Times) != len(wantT) {
		t.Fatalf("got %v %v", got.Times, got.Values)
	}
	for i := range wantT {
		if got.Times[i] != wantT[i] || got.Values[i] != wantV[i] {
			t.Fatalf("got %v %v, want %v %v", got.Times, got.Values, wantT, wantV)
		}
	}
}
