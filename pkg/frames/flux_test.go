package frames

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// stream decodes an annotated-CSV file exactly as the client decodes InfluxDB's answer.
func stream(t *testing.T, name string) *api.QueryTableResult {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return api.NewQueryTableResult(io.NopCloser(f))
}

func TestFromFluxGolden(t *testing.T) {
	for _, name := range []string{"series", "table"} {
		t.Run(name, func(t *testing.T) {
			res := stream(t, name+".csv")
			defer res.Close()
			fr, err := FromFlux(res, 100)
			if err != nil {
				t.Fatal(err)
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", name, &backend.DataResponse{Frames: fr}, *update)
		})
	}
}

func TestFromFluxMaxPoints(t *testing.T) {
	for _, tt := range []struct {
		max     int64
		wantErr bool
	}{{6, false}, {5, true}, {1, true}} {
		res := stream(t, "series.csv")
		fr, err := FromFlux(res, tt.max)
		res.Close()
		var tooMany *models.TooManyPointsError
		if got := errors.As(err, &tooMany); got != tt.wantErr {
			t.Fatalf("max %d: err %v, want error %v", tt.max, err, tt.wantErr)
		}
		if tt.wantErr && (fr != nil || tooMany.MaxPoints != tt.max) {
			t.Fatalf("max %d: frames %v, error %v", tt.max, fr, tooMany)
		}
	}
}

func TestFromFluxEmpty(t *testing.T) {
	res := api.NewQueryTableResult(io.NopCloser(emptyReader{}))
	fr, err := FromFlux(res, 10)
	if err != nil || len(fr) != 0 {
		t.Fatalf("got %v, %v", fr, err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

// fluxCSV decodes an annotated-CSV answer as the client decodes InfluxDB's.
func fluxCSV(csv string, maxPoints int64) (data.Frames, error) {
	res := api.NewQueryTableResult(io.NopCloser(strings.NewReader(csv)))
	defer res.Close()
	return FromFlux(res, maxPoints)
}

// fluxTable is an annotated-CSV table of string columns named names (the
// leading empty annotation column included), with rows.
func fluxTable(names []string, rows ...[]string) string {
	types := slices.Repeat([]string{"string"}, len(names))
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(append([]string{"#datatype"}, types...))
	_ = w.Write(append([]string{""}, names...))
	for _, r := range rows {
		_ = w.Write(append([]string{""}, r...))
	}
	w.Flush()
	return b.String()
}

// TestFromFluxHostile: answers no InfluxDB sends end the query with an
// error of their own, never a panic, and never keep a string beyond the
// limits or invalid UTF-8.
func TestFromFluxHostile(t *testing.T) {
	huge := strings.Repeat("x", influx.MaxString+1)
	for _, tc := range []struct {
		name, csv, want string
	}{
		{"two columns of one name and two types", "#datatype,string,double,string\n,result,a,a\n,,1.5,x\n", "two columns named \"a\""},
		{"a huge string value", fluxTable([]string{"result", "s"}, []string{"", huge}), "a Flux string of 1048577 bytes"},
		{"a huge column name", fluxTable([]string{"result", huge}, []string{"", "v"}), "a Flux column name of 1048577 bytes"},
		{"a huge label", "#datatype,string,long,dateTime:RFC3339,double,string\n#group,false,false,false,false,true\n,result,table,_time,_value,host\n,,0,2016-01-01T00:00:01Z,1," + huge + "\n", "a Flux label of 1048577 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr, err := fluxCSV(tc.csv, 100)
			if err == nil || !strings.Contains(err.Error(), tc.want) || fr != nil {
				t.Fatalf("got %v, %v; want an error saying %q", fr, err, tc.want)
			}
			if len(err.Error()) > 500 {
				t.Fatalf("a message of %d bytes: it must not quote the answer", len(err.Error()))
			}
		})
	}
	// Invalid UTF-8 in a name, a label and a value is replaced.
	csv := "#datatype,string,long,dateTime:RFC3339,double,string,string\n#group,false,false,false,false,true,true\n" +
		",result,table,_time,_value,_measurement,h\xffst\n,,0,2016-01-01T00:00:01Z,1,m\xfe,a\xc3\n"
	fr, err := fluxCSV(csv, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s %v", fr[0].Name, fr[0].Fields[1].Labels); got != "m\uFFFD h\uFFFDst=a\uFFFD" {
		t.Fatalf("got %q", got)
	}
	fr, err = fluxCSV(fluxTable([]string{"result", "s\xff"}, []string{"", "v\xe2\x82"}), 100)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fr[0].Fields[0].ConcreteAt(0); fr[0].Fields[0].Name != "s\uFFFD" || v != "v\uFFFD" {
		t.Fatalf("got %q = %q", fr[0].Fields[0].Name, v)
	}
}

// TestFromFluxStringBudget: the strings one answer keeps are bounded in all.
func TestFromFluxStringBudget(t *testing.T) {
	k := &kept{bytes: influx.MaxAnswerStrings - 16 - 3}
	if _, err := k.str("string", "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.str("string", ""); err == nil || !strings.Contains(err.Error(), "256 MiB") {
		t.Fatalf("beyond the budget: %v", err)
	}
}

// FuzzFluxCSV: whatever InfluxDB's answer holds, FromFlux never panics,
// never returns more rows than Max points, and keeps only valid UTF-8
// strings of at most influx.MaxString bytes.
func FuzzFluxCSV(f *testing.F) {
	for _, name := range []string{"series.csv", "table.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, seed := range []string{
		"#datatype,string,double,string\n,result,a,a\n,,1.5,x\n",
		"#datatype,string,double\n,result,v\n,,nan\n,,+Inf\n,,0x1p-2\n,,1e400\n",
		"#datatype,string,string\n,result,s\xff\n,,v\xe2\x82\n",
		"#datatype,string,long,dateTime:RFC3339,double,string\n#group,false,false,false,false,true\n,result,table,_time,_value,h\xff\n,,0,2016-01-01T00:00:01Z,1,\xfe\n",
		"#datatype,string,long,dateTime:RFC3339Nano,unsignedLong,boolean,duration,base64Binary\n,result,table,_time,_value,b,d,x\n,,0,2016-01-01T00:00:01.5Z,18446744073709551615,false,1h,AAE=\n",
		",result,table\n,,0\n", "#datatype\n", "#group,true\n,a\n", "",
	} {
		f.Add(seed)
	}
	const maxPoints = 5
	f.Fuzz(func(t *testing.T, csv string) {
		fr, err := fluxCSV(csv, maxPoints)
		if err != nil {
			return
		}
		rows := 0
		valid := func(what, s string) {
			if !utf8.ValidString(s) || len(s) > influx.MaxString {
				t.Fatalf("%s %q kept", what, s)
			}
		}
		for _, f := range fr {
			valid("frame name", f.Name)
			rows += f.Rows()
			for _, field := range f.Fields {
				valid("field name", field.Name)
				for k, v := range field.Labels {
					valid("label", k)
					valid("label", v)
				}
				for i := 0; i < field.Len(); i++ {
					if s, ok := field.At(i).(*string); ok && s != nil {
						valid("string", *s)
					}
				}
			}
		}
		if rows > maxPoints {
			t.Fatalf("%d rows returned under Max points %d", rows, maxPoints)
		}
	})
}

// TestFromFluxParseErrors: a Flux answer the client cannot parse is an
// *influx.Error of a few hundred bytes at most, whatever the value it quotes.
func TestFromFluxParseErrors(t *testing.T) {
	long := strings.Repeat("9", 1<<20)
	for _, tc := range []struct{ name, csv string }{
		{"a number beyond float64", "#datatype,string,double\n,result,v\n,,1e400\n"},
		{"a long number", "#datatype,string,long\n,result,v\n,,1" + long + "\n"},
		{"a time", "#datatype,string,dateTime:RFC3339\n,result,t\n,,yesterday" + long + "\n"},
		{"base64", "#datatype,string,base64Binary\n,result,b\n,,!!\n"},
		{"a quote", "#datatype,string,string\n,result,s\n,,a\"b\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fluxCSV(tc.csv, 100)
			var e *influx.Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, "a Flux answer Vigil cannot read") || len(e.Message) > 400 {
				t.Fatalf("got %T %.500v", err, err)
			}
		})
	}
}
