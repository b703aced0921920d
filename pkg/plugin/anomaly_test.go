package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx/influxtest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// printerDatasource is a data source reading an in-memory InfluxDB holding
// two hours of printer p1 at 1 Hz (the reference generator: the hotend
// anomaly at 1 h).
func printerDatasource(t *testing.T) *Datasource {
	t.Helper()
	fake := influxtest.New()
	p := datagen.NewPrinter(t0, 1)
	for s := 0; s < 2*3600; s++ {
		pt := p.Next()
		fields := map[string]any{}
		for i, name := range datagen.PrinterFields {
			fields[name] = pt.Values[i]
		}
		fake.Write("printer/autogen", "temperatures", map[string]string{"printer": "p1"}, pt.Time.UnixNano(), fields)
	}
	ping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Influxdb-Version", "1.8.10")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(ping.Close)
	ds := newDatasource(t, ping.URL, `{"defaultBucket":"printer/autogen","maxPoints":1000000}`, "user:secret")
	ds.live.src = fake
	return ds
}

// runQueries sends queries (JSON objects) over the first two hours and
// returns the responses by refId (A, B, ...).
func runQueries(t *testing.T, ds *Datasource, queries ...string) map[string]backend.DataResponse {
	t.Helper()
	req := &backend.QueryDataRequest{}
	for i, q := range queries {
		var m map[string]any
		if err := json.Unmarshal([]byte(q), &m); err != nil {
			t.Fatal(err)
		}
		qt, _ := m["queryType"].(string)
		req.Queries = append(req.Queries, backend.DataQuery{RefID: string(rune('A' + i)), QueryType: qt, JSON: json.RawMessage(q),
			TimeRange: backend.TimeRange{From: t0, To: t0.Add(2 * time.Hour)}, Interval: time.Second, MaxDataPoints: 1000})
	}
	resp, err := ds.QueryData(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Responses
}

// floats is a frame's number field as float64s.
func floatsOf(t *testing.T, f *data.Field) []float64 {
	t.Helper()
	out := make([]float64, f.Len())
	for i := range out {
		v, ok := f.At(i).(float64)
		if !ok {
			t.Fatalf("field %s holds %T", f.Name, f.At(i))
		}
		out[i] = v
	}
	return out
}

// TestAnomalyQueryTTestIsTTestQuery: an anomaly query with the ttest
// detector answers the ttest query bit for bit (p and t, every window,
// both read modes), with the same labels and frame type, and its score is
// log(p)/log(alpha).
func TestAnomalyQueryTTestIsTTestQuery(t *testing.T) {
	ds := printerDatasource(t)
	for _, mode := range []string{"points", "windows"} {
		for _, output := range []string{"pvalue", "t"} {
			common := `"measurement":"temperatures","fields":["hotend","bed"],"window":"5m","mode":"` + mode + `","output":"` + output + `"`
			res := runQueries(t, ds, `{"queryType":"ttest",`+common+`}`, `{"queryType":"anomaly","detector":"ttest",`+common+`}`)
			want, got := res["A"], res["B"]
			if want.Error != nil || got.Error != nil {
				t.Fatalf("%s %s: errors %v, %v", mode, output, want.Error, got.Error)
			}
			if len(got.Frames) != 2 || len(want.Frames) != 2 {
				t.Fatalf("%s %s: %d frames, ttest %d", mode, output, len(got.Frames), len(want.Frames))
			}
			for i, wf := range want.Frames {
				gf := got.Frames[i]
				if gf.Meta.Type != wf.Meta.Type || gf.Fields[1].Name != wf.Fields[1].Name || gf.Fields[1].Labels.String() != wf.Fields[1].Labels.String() {
					t.Fatalf("frame %d: %s %s {%s}, ttest %s %s {%s}", i, gf.Meta.Type, gf.Fields[1].Name, gf.Fields[1].Labels, wf.Meta.Type, wf.Fields[1].Name, wf.Fields[1].Labels)
				}
				g, w := floatsOf(t, gf.Fields[1]), floatsOf(t, wf.Fields[1])
				if len(g) != len(w) || len(w) < 20 {
					t.Fatalf("frame %d: %d windows, ttest %d", i, len(g), len(w))
				}
				for j := range w {
					if math.Float64bits(g[j]) != math.Float64bits(w[j]) && !(math.IsNaN(g[j]) && math.IsNaN(w[j])) {
						t.Fatalf("%s %s frame %d window %d: %v, ttest %v", mode, output, i, j, g[j], w[j])
					}
				}
			}
		}
	}
	res := runQueries(t, ds,
		`{"queryType":"ttest","measurement":"temperatures","fields":["hotend"],"mode":"points"}`,
		`{"queryType":"anomaly","measurement":"temperatures","fields":["hotend"],"mode":"points"}`)
	p, score := floatsOf(t, res["A"].Frames[0].Fields[1]), floatsOf(t, res["B"].Frames[0].Fields[1])
	if res["B"].Frames[0].Fields[1].Name != "score" {
		t.Fatalf("the default output is %s, want score", res["B"].Frames[0].Fields[1].Name)
	}
	for i := range p {
		if want := math.Max(0, math.Log(p[i])/math.Log(0.001)); score[i] != want {
			t.Fatalf("window %d: score %v, log(p)/log(alpha) %v", i, score[i], want)
		}
	}
}

// TestAnomalyQueryDetectors: every detector answers through QueryData with
// the outputs' shapes; the printer's hotend anomaly at 1 h is anomalous for
// the t-test and zscore (at threshold 2: its score at 3 is 0.85); band is one frame per series with value, expected,
// lower and upper, value inside [lower, upper] when not anomalous.
func TestAnomalyQueryDetectors(t *testing.T) {
	ds := printerDatasource(t)
	base := `"queryType":"anomaly","measurement":"temperatures","fields":["hotend","bed","air"],"window":"5m"`
	for _, tc := range []struct {
		detector string
		extra    string
	}{
		{"ttest", ``},
		{"zscore", `,"threshold":2`},
		{"mad", ``},
		{"holtwinters", `,"season":"1d"`}, // two hours: still warming up, no window judged
		{"peers", `,"minDeviation":5`},
	} {
		q := `{` + base + `,"detector":"` + tc.detector + `"` + tc.extra
		res := runQueries(t, ds, q+`}`, q+`,"output":"band"}`, q+`,"output":"anomaly"}`)
		for ref, r := range res {
			if r.Error != nil {
				t.Fatalf("%s %s: %v", tc.detector, ref, r.Error)
			}
		}
		score, band, anomaly := res["A"].Frames, res["B"].Frames, res["C"].Frames
		if tc.detector == "holtwinters" {
			if len(score) != 1 || score[0].Rows() != 0 || len(score[0].Meta.Notices) == 0 {
				t.Fatalf("holtwinters over two hours: %d frames, want one empty frame with a notice", len(score))
			}
			continue
		}
		if len(score) != 3 || len(band) != 3 || len(anomaly) != 3 {
			t.Fatalf("%s: %d, %d, %d frames, want one per field", tc.detector, len(score), len(band), len(anomaly))
		}
		flagged := 0
		for i, f := range band {
			names := []string{}
			for _, fd := range f.Fields {
				names = append(names, fd.Name)
			}
			if strings.Join(names, ",") != "Time,value,expected,lower,upper" || f.Fields[1].Labels["field"] == "" {
				t.Fatalf("%s band frame %d: fields %v labels %v", tc.detector, i, names, f.Fields[1].Labels)
			}
			value, lower, upper := floatsOf(t, f.Fields[1]), floatsOf(t, f.Fields[3]), floatsOf(t, f.Fields[4])
			flags := floatsOf(t, anomaly[i].Fields[1])
			custom := anomaly[i].Meta.Custom.(map[string]any)
			n := 0
			for j, a := range flags {
				if a == 1 {
					n++
					continue
				}
				if value[j] < lower[j]-1e-9*math.Abs(lower[j]) || value[j] > upper[j]+1e-9*math.Abs(upper[j]) {
					t.Errorf("%s band %d row %d: a normal window's mean %v outside [%v, %v]", tc.detector, i, j, value[j], lower[j], upper[j])
				}
			}
			if custom["windows"] != len(flags) || custom["anomalousWindows"] != n {
				t.Errorf("%s frame %d: meta.custom %v, %d windows, %d anomalous", tc.detector, i, custom, len(flags), n)
			}
			flagged += n
		}
		if (tc.detector == "ttest" || tc.detector == "zscore") && flagged == 0 {
			t.Errorf("%s: the hotend anomaly was not flagged", tc.detector)
		}
	}
}

// TestAnomalyQueryErrors: a setting that does not fit the detector is that
// query's own error; the other queries of the request still answer.
func TestAnomalyQueryErrors(t *testing.T) {
	ds := printerDatasource(t)
	base := `"queryType":"anomaly","measurement":"temperatures","fields":["hotend"]`
	res := runQueries(t, ds,
		`{`+base+`,"detector":"zscore","output":"pvalue"}`,
		`{`+base+`,"detector":"holtwinters","season":"1d","hwAlpha":0.5}`,
		`{`+base+`,"topic":"printers"}`,
		`{`+base+`,"detector":"zscore"}`)
	for ref, want := range map[string]string{"A": "output", "B": "hwAlpha", "C": "kafka"} {
		if r := res[ref]; r.Error == nil || !strings.Contains(strings.ToLower(r.Error.Error()), strings.ToLower(want)) {
			t.Errorf("%s: error %v, want one about %s", ref, r.Error, want)
		}
	}
	if r := res["D"]; r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Rows() == 0 {
		t.Errorf("D: %v", r.Error)
	}
}

// TestAnomalyQueryAnnotations: format annotations gives one region per
// anomalous window.
func TestAnomalyQueryAnnotations(t *testing.T) {
	ds := printerDatasource(t)
	res := runQueries(t, ds, `{"queryType":"anomaly","measurement":"temperatures","fields":["hotend"],"detector":"zscore","threshold":2,"format":"annotations"}`)
	r := res["A"]
	if r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Rows() == 0 || r.Frames[0].Fields[1].Name != "timeEnd" {
		t.Fatalf("%v, %d frames", r.Error, len(r.Frames))
	}
	if text := r.Frames[0].Fields[3].At(0).(string); !strings.Contains(text, "zscore") {
		t.Fatalf("annotation text %q", text)
	}
}

// TestAnomalyLive: an anomaly channel (anomaly/<field>/<hash>) streams
// the detector's output: the viewer's initial frame holds the last hour's
// windows, labelled and named as the query's frames, with the values the
// query gives for them; a channel over a Kafka topic is refused with a
// reason.
func TestAnomalyLive(t *testing.T) {
	ds := printerDatasource(t)
	clk := newFakeClock()
	clk.now = t0.Add(2 * time.Hour)
	ds.live.clock = clk
	query := `{"queryType":"anomaly","measurement":"temperatures","fields":["hotend"],"detector":"zscore","threshold":2,"window":"5m"}`
	path, err := models.LiveChannel(models.QueryTypeAnomaly, json.RawMessage(query))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, "anomaly/hotend/") {
		t.Fatalf("channel %s", path)
	}
	f := subscribe(t, ds, path, query)
	if len(f.Fields) != 2 || f.Fields[1].Name != "score" || f.Fields[1].Labels["field"] != "hotend" || f.Rows() != 12 {
		t.Fatalf("initial frame: %d fields, %d rows", len(f.Fields), f.Rows())
	}
	want := runQueries(t, ds, query)["A"].Frames[0]
	scores := floatsOf(t, want.Fields[1])
	offset := len(scores) - f.Rows()
	for i := 0; i < f.Rows(); i++ {
		got, ok := f.Fields[1].ConcreteAt(i)
		if !ok || got.(float64) != scores[offset+i] || !f.Fields[0].At(i).(time.Time).Equal(want.Fields[0].At(offset+i).(time.Time)) {
			t.Fatalf("row %d: %v at %v, the query %v at %v", i, got, f.Fields[0].At(i), scores[offset+i], want.Fields[0].At(offset+i))
		}
	}

	topic := `{"queryType":"anomaly","topic":"printers","measurement":"temperatures","fields":["hotend"],"detector":"zscore"}`
	kpath, err := models.LiveChannel(models.QueryTypeAnomaly, json.RawMessage(topic))
	if err != nil {
		t.Fatal(err)
	}
	kds := newDatasource(t, "http://127.0.0.1:1", `{"defaultBucket":"printer/autogen","kafkaBrokers":"127.0.0.1:1"}`, "user:secret")
	res, err := kds.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: kpath, Data: []byte(topic)})
	if err == nil && res.Status == backend.SubscribeStreamStatusOK {
		t.Fatal("an anomaly channel over a Kafka topic was accepted")
	}
	if _, err := kds.parseLive(kpath, json.RawMessage(topic), clk.Now()); err == nil || !strings.Contains(err.Error(), "not streamed live") {
		t.Fatalf("the refusal says %v", err)
	}
}

// TestAnomalyQueryOverKafka: with topic set, an anomaly query reads the
// topic's retained messages: the ttest detector answers the kafka query bit
// for bit, and zscore and peers answer over the same messages.
func TestAnomalyQueryOverKafka(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	var recs []*kgo.Record
	for i := range 1200 {
		for h := 1; h <= 3; h++ {
			x := 50 + 3*math.Sin(float64(i*h)/7)
			if h == 2 && i > 900 {
				x += 40 // host 2 leaves its peers
			}
			recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "sensor,host=h%d temp=%v %d", h, x, now.Add(time.Duration(i-1200)*time.Second).UnixNano())})
		}
	}
	brokers := topicWith(t, recs)
	ds := newDatasource(t, "http://127.0.0.1:1", fmt.Sprintf(`{"defaultBucket":"b/autogen","kafkaBrokers":%q,"timeout":5}`, brokers), "")
	common := `"topic":"t","measurement":"sensor","fields":["temp"],"window":"10s","history":20,"output":"pvalue"`
	run := func(queries ...string) map[string]backend.DataResponse {
		req := &backend.QueryDataRequest{}
		for i, q := range queries {
			req.Queries = append(req.Queries, backend.DataQuery{RefID: string(rune('A' + i)), JSON: json.RawMessage(q), MaxDataPoints: 1000,
				TimeRange: backend.TimeRange{From: now.Add(-15 * time.Minute), To: now}})
		}
		resp, err := ds.QueryData(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Responses
	}
	res := run(`{"queryType":"kafka",`+common+`}`, `{"queryType":"anomaly","detector":"ttest",`+common+`}`)
	want, got := res["A"], res["B"]
	if want.Error != nil || got.Error != nil || len(want.Frames) != 3 || len(got.Frames) != 3 {
		t.Fatalf("kafka %v, anomaly %v", want.Error, got.Error)
	}
	for i, wf := range want.Frames {
		w, g := floatsOf(t, wf.Fields[1]), floatsOf(t, got.Frames[i].Fields[1])
		if len(w) < 50 || len(g) != len(w) {
			t.Fatalf("frame %d: %d windows, kafka query %d", i, len(g), len(w))
		}
		for j := range w {
			if math.Float64bits(w[j]) != math.Float64bits(g[j]) && !(math.IsNaN(w[j]) && math.IsNaN(g[j])) {
				t.Fatalf("frame %d window %d: p %v, the kafka query %v", i, j, g[j], w[j])
			}
		}
	}
	res = run(`{"queryType":"anomaly","detector":"peers","output":"anomaly","topic":"t","measurement":"sensor","fields":["temp"],"window":"10s"}`)
	if r := res["A"]; r.Error != nil || len(r.Frames) != 3 {
		t.Fatalf("peers: %v", r.Error)
	}
	for _, f := range res["A"].Frames {
		flags := floatsOf(t, f.Fields[1])
		late := 0
		for _, a := range flags[len(flags)-25:] {
			late += int(a)
		}
		if host := f.Fields[1].Labels["host"]; (host == "h2") != (late == 25) {
			t.Errorf("peers %s: %d of the last 25 windows anomalous", host, late)
		}
	}
}
