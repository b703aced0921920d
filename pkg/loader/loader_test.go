package loader

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

var influxDB *devenv.InfluxDB

func TestMain(m *testing.M) {
	os.Exit(devenv.RunWithInfluxDB(m, &influxDB))
}

func TestParseUCI(t *testing.T) {
	f, err := os.Open("testdata/sample_uci.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []datagen.HouseholdRow
	if err := ParseUCI(f, func(r datagen.HouseholdRow) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows", len(rows))
	}
	first := rows[0]
	if !first.Time.Equal(time.Date(2006, 12, 16, 17, 24, 0, 0, time.UTC)) || first.Values != [7]float64{4.216, 0.418, 234.84, 18.4, 0, 1, 17} {
		t.Fatalf("first row %+v", first)
	}
	if wh, ok := analysis.UnmeteredWh(first.Values[0], first.Values[4], first.Values[5], first.Values[6]); !ok || math.Abs(wh-52.266666666666666) > 1e-12 {
		t.Fatalf("first row's unmetered energy %v", wh)
	}
	for _, r := range rows[3:5] { // "?" rows, and an empty last column
		for i, v := range r.Values {
			if !math.IsNaN(v) {
				t.Fatalf("%s %s = %v, want missing", r.Time, datagen.HouseholdFields[i], v)
			}
		}
		if r.LineProtocol() != "" {
			t.Fatalf("a row with nothing writes %q", r.LineProtocol())
		}
	}
	if !rows[6].Time.Equal(time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("not zero-padded date: %s", rows[6].Time)
	}
}

func TestParseUCIErrors(t *testing.T) {
	header := "Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;Sub_metering_1;Sub_metering_2;Sub_metering_3\n"
	for body, want := range map[string]string{
		"a;b\n":                              "line 1: not the UCI header",
		header + "16/12/2006;17:24:00;4.2\n": "line 2: 3 columns",
		header + "2006-12-16;17:24:00;1;1;1;1;1;1;1\n": "line 2: date and time",
		header + "16/12/2006;17:24:00;x;1;1;1;1;1;1\n": "line 2: Global_active_power \"x\"",
	} {
		err := ParseUCI(strings.NewReader(body), func(datagen.HouseholdRow) error { return nil })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

// readBack returns the household points in db as time -> values (NaN when missing).
func readBack(t *testing.T, db string) map[time.Time][7]float64 {
	t.Helper()
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	out := map[time.Time][7]float64{}
	err := c.InfluxQL(context.Background(), db, `SELECT * FROM "`+db+`"."autogen"."power"`, func(s influx.Series) error {
		for _, row := range s.Values {
			var vals [7]float64
			var ts time.Time
			for i, col := range s.Columns {
				n, _ := row[i].(json.Number)
				if col == "time" {
					ns, _ := n.Int64()
					ts = time.Unix(0, ns).UTC()
					continue
				}
				for k, f := range datagen.HouseholdFields {
					if f == col {
						vals[k] = math.NaN()
						if v, err := n.Float64(); err == nil && n != "" {
							vals[k] = v
						}
					}
				}
			}
			out[ts] = vals
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUCIRoundTripAndResume(t *testing.T) {
	devenv.NeedInfluxDB(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "uci"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/sample_uci.txt")
	if err != nil {
		t.Fatal(err)
	}
	// An interrupted load: only the first four lines made it.
	lines := strings.SplitAfter(string(raw), "\n")
	w := NewWriter(influxDB.URL, influxDB.Token(), "uci/autogen")
	if _, err := UCI(ctx, w, strings.NewReader(strings.Join(lines[:4], "")), 0, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := len(readBack(t, "uci")); got != 3 {
		t.Fatalf("%d points after the partial load", got)
	}
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	last, err := LastTime(ctx, c, "uci/autogen")
	if err != nil || !last.Equal(time.Date(2006, 12, 16, 17, 26, 0, 0, time.UTC)) {
		t.Fatalf("resume point %s %v", last, err)
	}
	var fracs []float64
	skipped, err := UCI(ctx, w, strings.NewReader(string(raw)), int64(len(raw)), last, func(f float64) { fracs = append(fracs, f) })
	if err != nil || skipped != 3 || len(fracs) == 0 || fracs[len(fracs)-1] != 1 {
		t.Fatalf("resume: skipped %d, progress %v, %v", skipped, fracs, err)
	}
	got := readBack(t, "uci")
	var want []datagen.HouseholdRow
	_ = ParseUCI(strings.NewReader(string(raw)), func(r datagen.HouseholdRow) error { want = append(want, r); return nil })
	n := 0
	for _, r := range want {
		if r.LineProtocol() == "" {
			if _, ok := got[r.Time]; ok {
				t.Fatalf("a ? row was written at %s", r.Time)
			}
			continue
		}
		n++
		if got[r.Time] != r.Values {
			t.Fatalf("%s: read back %v, want %v", r.Time, got[r.Time], r.Values)
		}
	}
	if len(got) != n || w.Written() != int64(n) {
		t.Fatalf("%d points in InfluxDB, %d written, want %d (no duplicates)", len(got), w.Written(), n)
	}
	_ = w.Close(ctx)
}

func TestPrinterAndHouseholdRoundTrip(t *testing.T) {
	devenv.NeedInfluxDB(t)
	ctx := context.Background()
	for _, db := range []string{"printerload", "houseload"} {
		if err := influxDB.CreateDatabase(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	w := NewWriter(influxDB.URL, influxDB.Token(), "printerload/autogen")
	if err := Printer(ctx, w, start, 12_345, 1); err != nil {
		t.Fatal(err)
	}
	_ = w.Close(ctx)
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	var count, first float64
	err := c.InfluxQL(ctx, "printerload", `SELECT count("hotend"), first("hotend") FROM "printerload"."autogen"."temperatures"`, func(s influx.Series) error {
		count, _ = s.Values[0][1].(json.Number).Float64()
		first, _ = s.Values[0][2].(json.Number).Float64()
		return nil
	})
	if want := datagen.NewPrinter(start, 1).Next().Values[0]; err != nil || count != 12_345 || first != want {
		t.Fatalf("printer: %v points, first hotend %v (want %v), %v", count, first, want, err)
	}
	hw := NewWriter(influxDB.URL, influxDB.Token(), "houseload/autogen")
	if err := Household(ctx, hw, start, 2*1440, 3); err != nil {
		t.Fatal(err)
	}
	_ = hw.Close(ctx)
	got := readBack(t, "houseload")
	gen := datagen.NewHousehold(start, 3)
	for i := 0; i < 2*1440; i++ {
		r := gen.Next()
		if r.LineProtocol() == "" {
			continue
		}
		if got[r.Time] != r.Values {
			t.Fatalf("%s: %v, want %v", r.Time, got[r.Time], r.Values)
		}
	}
}

func TestRealtimeAnomalySchedule(t *testing.T) {
	start := time.Unix(0, 0)
	for _, tt := range []struct {
		after time.Duration
		want  int
	}{{0, -1}, {4 * time.Minute, -1}, {5 * time.Minute, 0}, {9*time.Minute + 59*time.Second, 0}, {10 * time.Minute, -1},
		{20 * time.Minute, 1}, {35 * time.Minute, 2}, {50 * time.Minute, 0}} {
		if got := datagen.RealtimeAnomaly(start, start.Add(tt.after)); got != tt.want {
			t.Errorf("after %s: %d, want %d", tt.after, got, tt.want)
		}
	}
}

// TestUCIMalformedLine: a bad line stops the load with its line number, and
// nothing of the batch it was in is written.
func TestUCIMalformedLine(t *testing.T) {
	devenv.NeedInfluxDB(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "ucibad"); err != nil {
		t.Fatal(err)
	}
	body := "Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;Sub_metering_1;Sub_metering_2;Sub_metering_3\n" +
		"16/12/2006;17:24:00;4.216;0.418;234.840;18.400;0.000;1.000;17.000\n" +
		"16/12/2006;17:25:00;5.360;0.436;233.630;23.000;0.000;1.000;16.000\n" +
		"16/12/2006;17:26:00;5,374;0.498;233.290;23.000;0.000;2.000;17.000\n"
	w := NewWriter(influxDB.URL, influxDB.Token(), "ucibad/autogen")
	defer w.client.Close()
	_, err := UCI(ctx, w, strings.NewReader(body), int64(len(body)), time.Time{}, nil)
	if err == nil || !strings.Contains(err.Error(), `line 4: Global_active_power "5,374" is not a number`) {
		t.Fatalf("got %v", err)
	}
	if n := len(readBack(t, "ucibad")); n != 0 || w.Written() != 0 {
		t.Fatalf("%d points written from the failed batch", n)
	}
}
