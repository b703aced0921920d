package influx_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

var influxDB *devenv.InfluxDB

func TestMain(m *testing.M) {
	os.Exit(devenv.RunWithInfluxDBFlux(m, &influxDB, false))
}

// storable says whether InfluxDB can hold s as a name at all: line protocol
// has no escape for line breaks, and InfluxDB drops keys named time.
func storable(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsAny(s, "\n\r\x00") && s != "time"
}

var fuzzRun atomic.Int64

// FuzzNamesRoundTrip: a name used as database, retention policy,
// measurement, field, tag key and tag value reaches InfluxDB through Vigil's
// statements as exactly that name. The point is written by the InfluxDB
// client (its own line-protocol escaping, an independent writer); Vigil's
// reads, filtered by the same names, must find exactly it, and every schema
// list must name it as written. A canary database must survive each input,
// so no name ever changed a statement.
func FuzzNamesRoundTrip(f *testing.F) {
	for _, seed := range []string{`plain`, `a"b`, `a'b`, `back\slash`, `trailing\`, `\\"`, `"; DROP DATABASE canary; "`,
		`' OR 1=1 --`, `with space`, `comma,eq=`, `/slash`, `émoji 😀`, `$timeFilter`, `..`, `"`, `'`, `\`, `tab	x`} {
		f.Add(seed)
	}
	devenv.NeedInfluxDB(f)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "canary"); err != nil {
		f.Fatal(err)
	}
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	f.Cleanup(c.Close)
	writer := influxdb2.NewClient(influxDB.URL, influxDB.Token())
	f.Cleanup(writer.Close)
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

	f.Fuzz(func(t *testing.T, name string) {
		if !storable(name) {
			t.Skip("InfluxDB cannot hold this name")
		}
		n := fuzzRun.Add(1)
		// The database carries a run number so that runs never meet; its
		// name is still arbitrary (a bucket is db/rp: no slash in it).
		// InfluxDB refuses some database and retention-policy names
		// (meta.ValidName: no \ or /, no "..", printable); those names are
		// tested in the other places, in a database of their own.
		db := fmt.Sprintf("%s %d", strings.ReplaceAll(name, "/", "∕"), n)
		rp := name
		if err := influxDB.Exec(ctx, "CREATE DATABASE "+influx.Ident(db)); err != nil {
			if !strings.Contains(err.Error(), "invalid name") {
				t.Fatal(err)
			}
			db = fmt.Sprintf("names %d", n)
			if err := influxDB.Exec(ctx, "CREATE DATABASE "+influx.Ident(db)); err != nil {
				t.Fatal(err)
			}
		}
		defer func() { _ = influxDB.Exec(ctx, "DROP DATABASE "+influx.Ident(db)) }()
		if err := influxDB.Exec(ctx, fmt.Sprintf("CREATE RETENTION POLICY %s ON %s DURATION INF REPLICATION 1 DEFAULT", influx.Ident(rp), influx.Ident(db))); err != nil {
			if !strings.Contains(err.Error(), "invalid name") {
				t.Fatal(err)
			}
			rp = "autogen"
		}
		bucket := db + "/" + rp
		if err := c.CheckBucket(ctx, bucket); err != nil {
			t.Fatalf("bucket %q: %v", bucket, err)
		}
		tagKey := "k" + name
		at := t0.Add(time.Duration(n) * time.Second)
		point := write.NewPoint(name, map[string]string{tagKey: name}, map[string]any{name: 1.5}, at)
		if err := writer.WriteAPIBlocking("", bucket).WritePoint(ctx, point); err != nil {
			t.Skipf("InfluxDB refused the point: %v", err)
		}

		// What InfluxDB stored, listed by statements that hold no name: the
		// client's line protocol cannot carry every name (it writes a tab as
		// \t, and runs of backslashes before a quote lose some).
		var stored []string
		for _, stmt := range []string{"SHOW MEASUREMENTS", "SHOW FIELD KEYS", "SHOW TAG KEYS", "SHOW TAG VALUES WITH KEY =~ /.*/"} {
			if err := c.InfluxQL(ctx, db, stmt, func(s influx.Series) error {
				for _, row := range s.Values {
					for _, v := range row {
						stored = append(stored, fmt.Sprint(v))
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if want := []string{name, name, "float", tagKey, tagKey, name}; !slices.Equal(stored, want) {
			t.Skipf("the InfluxDB client wrote %q as %q", want, stored)
		}

		sel := influx.Selection{Bucket: bucket, Measurement: name, Fields: []string{name}, Tags: map[string]string{tagKey: name}}
		var rows []string
		err := c.Points(ctx, sel, at, at.Add(time.Second), func(b influx.Batch) error {
			for j, ts := range b.Times {
				rows = append(rows, fmt.Sprintf("%v %d %v", b.Tags, ts, b.Value(j, 0)))
			}
			return nil
		})
		want := fmt.Sprintf("%v %d 1.5", map[string]string{tagKey: name}, at.UnixNano())
		if err != nil || len(rows) != 1 || rows[0] != want {
			t.Fatalf("read back %q, %v; want %q", rows, err, want)
		}
		lists := map[string]func() ([]string, error){
			"measurements": func() ([]string, error) { return c.Measurements(ctx, bucket) },
			"field keys": func() ([]string, error) {
				keys, err := c.FieldKeys(ctx, bucket, name)
				var names []string
				for _, k := range keys {
					names = append(names, k.Name)
				}
				return names, err
			},
			"tag keys":   func() ([]string, error) { return c.TagKeys(ctx, bucket, name) },
			"tag values": func() ([]string, error) { return c.TagValues(ctx, bucket, name, tagKey) },
		}
		wantIn := map[string]string{"measurements": name, "field keys": name, "tag keys": tagKey, "tag values": name}
		for what, list := range lists {
			got, err := list()
			if err != nil || !slices.Equal(got, []string{wantIn[what]}) {
				t.Fatalf("%s: %q, %v; want [%q]", what, got, err, wantIn[what])
			}
		}
		if err := c.CheckBucket(ctx, "canary/autogen"); err != nil {
			t.Fatalf("the canary database is gone after %q: %v", name, err)
		}
	})
}
