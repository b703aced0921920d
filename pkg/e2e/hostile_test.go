package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// hostileAnswer is one answer no InfluxDB sends: its InfluxQL (/query) and
// Flux (/api/v2/query) bodies, each written until it ends or the plugin
// stops reading. cleanQL, cleanFlux: the plugin may read that body (with a
// clean answer, valid UTF-8 only) rather than refuse it.
type hostileAnswer struct {
	name               string
	influxql, csv      []part
	cleanQL, cleanFlux bool
	// trickle: the body is the first part, then a space every 10 ms.
	trickle bool
}

// part is s written n times (once when n is 0); n < 0: until the plugin
// stops reading (at most 4 GiB, so that a plugin reading forever fails
// the test instead of hanging it).
type part struct {
	s string
	n int
}

// hostileName is a measurement, tag or column name of 2 MiB: beyond the 1
// MiB Vigil takes (InfluxDB keeps keys under 64 KiB), within a Flux line.
var hostileName = part{strings.Repeat("n", 1024), 2048}

// parts makes parts of strings and parts.
func parts(ps ...any) []part {
	var out []part
	for _, p := range ps {
		switch p := p.(type) {
		case string:
			out = append(out, part{s: p})
		case part:
			out = append(out, p)
		}
	}
	return out
}

func write(w io.Writer, ps []part) error {
	for _, p := range ps {
		n := max(p.n, 1)
		if p.n < 0 {
			n = 4 << 30 / len(p.s)
		}
		for range n {
			if _, err := io.WriteString(w, p.s); err != nil {
				return err
			}
		}
	}
	return nil
}

// endless is forever.
const endless = -1

const (
	seriesHead = `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","temp"],"values":[`
	seriesTail = `]}]}]}` + "\n"
	fluxHead   = "#datatype,string,long,dateTime:RFC3339,double,string,string\n#group,false,false,false,false,true,true\n#default,_result,,,,,\n,result,table,_time,_value,_field,_measurement\n"
	fluxRow    = ",,0,2016-01-01T00:00:01Z,1.5,temp,m\n"
)

var hostileAnswers = []hostileAnswer{
	{name: "several MB of nesting in a row",
		influxql: parts(seriesHead+"[1,", part{"[", 8 << 20}),
		csv:      parts(fluxHead+",,0", part{",", endless})}, // a line of endless columns
	{name: "several MB of nesting in a skipped value",
		influxql: parts(`{"x":`, part{"[", 8 << 20}),
		csv:      parts("#datatype,string", part{"x", endless})}, // a line that never ends
	{name: "a string of 100 MB",
		influxql: parts(seriesHead+`[1,"`, part{strings.Repeat("x", 1024), 100 << 10}, `"]`+seriesTail),
		csv:      parts(fluxHead+",,0,2016-01-01T00:00:01Z,1.5,temp,", part{strings.Repeat("x", 1024), 100 << 10}, "\n")},
	{name: "a measurement name of 2 MiB",
		influxql: parts(`{"results":[{"series":[{"name":"`, hostileName, `","columns":["time","temp"],"values":[[1,1]]}]}]}`),
		csv:      parts(fluxHead+",,0,2016-01-01T00:00:01Z,1.5,temp,", hostileName, "\n")},
	{name: "a tag key of 2 MiB",
		influxql: parts(`{"results":[{"series":[{"name":"m","tags":{"`, hostileName, `":"a"},"columns":["time","temp"],"values":[[1,1]]}]}]}`),
		csv: parts("#datatype,string,long,dateTime:RFC3339,double,string\n#group,false,false,false,false,true\n,result,table,_time,_value,",
			hostileName, "\n,,0,2016-01-01T00:00:01Z,1.5,a\n")},
	{name: "a column name of 2 MiB",
		influxql: parts(`{"results":[{"series":[{"name":"m","columns":["time","`, hostileName, `"],"values":[[1,1]]}]}]}`),
		csv:      parts("#datatype,string,string\n,result,", hostileName, "\n,,a\n")},
	{name: "invalid UTF-8", cleanQL: true, cleanFlux: true,
		influxql: parts("{\"results\":[{\"series\":[{\"name\":\"m\xff\",\"tags\":{\"p\xfe\":\"a\xc3\"},\"columns\":[\"time\",\"t\xffemp\",\"s\"],\"values\":[[1,1.5,\"v\xe2\x82\"]]}]}]}"),
		csv:      parts("#datatype,string,long,dateTime:RFC3339,double,string,string\n#group,false,false,false,false,true,true\n,result,table,_time,_value,_measurement,h\xffst\n,,0,2016-01-01T00:00:01Z,1.5,m\xfe,a\xc3\n")},
	{name: "a time that is not a number", cleanQL: true, // the schema resources read names, not times
		influxql: parts(seriesHead + `["2016-01-01T00:00:00Z",1],[true,2],[null,3]` + seriesTail),
		csv:      parts(fluxHead + ",,0,yesterday,1.5,temp,m\n")},
	{name: "numbers beyond float64",
		influxql: parts(seriesHead + `[1,1e400],[2,-1e400]` + seriesTail),
		csv:      parts(fluxHead + ",,0,2016-01-01T00:00:01Z,1e400,temp,m\n")},
	// Flux writes NaN and +Inf for such floats, and the client reads them.
	{name: "nan, inf and hex numbers", cleanFlux: true,
		influxql: parts(seriesHead + `[1,nan],[2,inf],[3,0x1p-2]` + seriesTail),
		csv:      parts(fluxHead + ",,0,2016-01-01T00:00:01Z,NaN,temp,m\n,,0,2016-01-01T00:00:02Z,+Inf,temp,m\n")},
	{name: "endless chunks",
		influxql: parts(part{seriesHead + strings.Repeat(`[1,1],`, 999) + `[1,1]` + seriesTail, endless}),
		csv:      parts(fluxHead, part{fluxRow, endless})},
	{name: "an endless chunk",
		influxql: parts(seriesHead+`[1,1]`, part{`,[1,1]`, endless}),
		csv:      parts(fluxHead, part{fluxRow, endless})},
	{name: "a body that never ends", trickle: true, influxql: parts(seriesHead), csv: parts(fluxHead)},
}

// neverEnds writes head and then one space every 10 ms until the plugin
// stops reading (at most a minute): a body that never ends.
func neverEnds(w http.ResponseWriter, head string) {
	rc := http.NewResponseController(w)
	_, _ = io.WriteString(w, head)
	for range 6000 {
		if _, err := io.WriteString(w, " "); err != nil || rc.Flush() != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hostileShow answers the SHOW statements as InfluxDB would, so that the
// queries' SELECTs (points, counts, windows, power) meet the hostile answer.
func hostileShow(statement string) string {
	switch s := strings.ToUpper(statement); {
	case strings.HasPrefix(s, "SHOW FIELD KEYS"):
		return `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["fieldKey","fieldType"],"values":[["temp","float"],["Global_active_power","float"],["Sub_metering_1","float"],["Sub_metering_2","float"],["Sub_metering_3","float"]]}]}]}`
	case strings.HasPrefix(s, "SHOW RETENTION POLICIES"):
		return `{"results":[{"statement_id":0,"series":[{"columns":["name","duration","shardGroupDuration","replicaN","default"],"values":[["autogen","0s","168h0m0s",1,true]]}]}]}`
	}
	return `{"results":[{"statement_id":0}]}`
}

// startHostileInflux stands in for an InfluxDB 1.8 at /<answer>/<scope>/:
// /ping answers as 1.8 does; /query and /api/v2/query with the answer
// numbered <answer> in hostileAnswers, every statement (scope "all") or
// only the SELECTs (scope "select").
func startHostileInflux(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		var scope, endpoint string
		if _, err := fmt.Sscanf(r.URL.Path, "/%d/%s", &n, &scope); err != nil || n < 0 || n >= len(hostileAnswers) {
			http.NotFound(w, r)
			return
		}
		scope, endpoint, _ = strings.Cut(scope, "/")
		a := hostileAnswers[n]
		switch endpoint {
		case "ping":
			w.Header().Set("X-Influxdb-Version", "1.8.10")
			w.WriteHeader(http.StatusNoContent)
		case "query":
			w.Header().Set("Content-Type", "application/json")
			if q := r.FormValue("q"); scope == "select" && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q)), "SHOW") {
				_, _ = io.WriteString(w, hostileShow(q))
				return
			}
			if a.trickle {
				neverEnds(w, a.influxql[0].s)
				return
			}
			_ = write(w, a.influxql)
		case "api/v2/query":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			if a.trickle {
				neverEnds(w, a.csv[0].s)
				return
			}
			_ = write(w, a.csv)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestHostileUpstream: an upstream answering what no InfluxDB sends (MBs
// of nesting, a 100 MB string, names of MBs, invalid UTF-8, numbers beyond
// float64, nan, inf and hex numbers, endless chunks, a body that never
// ends) costs each query type (t-test, power, alerts, raw InfluxQL, Flux,
// Save & test, the schema resources, a Live stream) an error of its own or
// a clean answer, within the timeout; the plugin process never exits and
// answers a healthy query on another data source after each answer.
func TestHostileUpstream(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	srv := startHostileInflux(t)
	pid := host.Pid()
	const timeout = 2 * time.Second
	settings, _ := json.Marshal(map[string]any{"defaultBucket": "db/autogen", "timeout": timeout.Seconds(), "maxPoints": 10000})
	uid := func(n int, scope string) string { return fmt.Sprintf("vigil-hostile-%d-%s", n, scope) }
	for n := range hostileAnswers {
		for _, scope := range []string{"all", "select"} {
			s := vigilDatasource(int64(100+2*n+len(scope)%2), uid(n, scope), "hostile-token", "db/autogen")
			s.URL, s.JSONData = fmt.Sprintf("%s/%d/%s", srv.URL, n, scope), settings
			host.AddDatasource(s)
		}
	}

	to := time.Now().Truncate(time.Second)
	query := func(model map[string]any) func(context.Context, string) outcome {
		return panelCall(t, host, to.Add(-time.Hour), to, model, func(frames data.Frames) string {
			if bad := invalidText(frames); bad != "" {
				return "an answer with invalid UTF-8: " + bad
			}
			return ""
		})
	}
	resource := func(url string) func(context.Context, string) outcome {
		return func(ctx context.Context, uid string) outcome {
			path, _, _ := strings.Cut(url, "?")
			resp, err := host.CallResource(ctx, uid, &backend.CallResourceRequest{Method: "GET", Path: path, URL: url})
			switch {
			case err != nil:
				return outcome{err: "CallResource: " + err.Error()}
			case resp.Status/100 != 2:
				return outcome{err: fmt.Sprintf("HTTP %d: %.300s", resp.Status, resp.Body)}
			case !utf8.Valid(resp.Body):
				return outcome{err: "an answer with invalid UTF-8"}
			}
			return outcome{answer: string(resp.Body)}
		}
	}
	ttest := func(mode string) map[string]any {
		return map[string]any{"queryType": "ttest", "measurement": "m", "fields": []string{"temp"}, "window": "10s", "history": 10, "mode": mode}
	}
	endpoints := []struct {
		name  string
		scope string // the hostile data source's scope
		call  func(context.Context, string) outcome
	}{
		{"ttest points", "select", query(ttest("points"))},
		{"ttest windows", "select", query(ttest("windows"))},
		{"ttest auto", "all", query(ttest("auto"))},
		{"power", "select", query(map[string]any{"queryType": "power", "measurement": "m", "aggregate": "none"})},
		{"power auto", "select", query(map[string]any{"queryType": "power", "measurement": "m", "aggregate": "auto"})},
		{"alerts", "all", query(map[string]any{"queryType": "alerts"})},
		{"influxql", "all", query(map[string]any{"queryType": "influxql", "influxql": `SELECT "temp" FROM "m" WHERE $timeFilter`})},
		{"flux", "all", query(map[string]any{"queryType": "flux", "flux": `from(bucket: v.bucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)`})},
		{"Save & test", "all", func(ctx context.Context, uid string) outcome {
			res, err := host.CheckHealth(ctx, uid)
			switch {
			case err != nil:
				return outcome{err: "CheckHealth: " + err.Error()}
			case res.Status != backend.HealthStatusOk:
				return outcome{err: res.Message}
			}
			return outcome{answer: res.Message}
		}},
		{"measurements", "all", resource("measurements")},
		{"fields", "all", resource("fields?measurement=m")},
		{"tag-keys", "all", resource("tag-keys?measurement=m")},
		{"tag-values", "all", resource("tag-values?measurement=m&key=p")},
	}
	run := func(uid string, call func(context.Context, string) outcome) outcome {
		return callWithin(ctx, timeout+faultMargin, uid, call)
	}
	healthy := query(map[string]any{"queryType": "influxql", "influxql": `SHOW MEASUREMENTS ON "printer"`})
	clear := regexp.MustCompile(`(?i)influxdb|timeout|max points|answer|holds .* values`)
	for n, a := range hostileAnswers {
		var report []string
		for _, e := range endpoints {
			o := run(uid(n, e.scope), e.call)
			report = append(report, fmt.Sprintf("%-14s %s", e.name, brief(o)))
			switch {
			case o.hung:
				t.Errorf("%s, %s: no answer within %s", a.name, e.name, timeout+faultMargin)
			case strings.Contains(o.err, "internal error"):
				t.Errorf("%s, %s: the plugin panicked: %s", a.name, e.name, o.err)
			case o.err != "" && !clear.MatchString(o.err):
				t.Errorf("%s, %s: an unclear error: %s", a.name, e.name, o.err)
			case o.err == "" && e.scope == "all" && (e.name == "flux" && !a.cleanFlux || e.name != "flux" && !a.cleanQL) &&
				e.name != "Save & test" && !strings.HasPrefix(e.name, "ttest"):
				// Read and answered cleanly, where a refusal was expected.
				t.Errorf("%s, %s: answered %.300s", a.name, e.name, o.answer)
			}
			if len(o.err) > 2000 {
				t.Errorf("%s, %s: an error of %d bytes (it quotes the answer)", a.name, e.name, len(o.err))
			}
		}
		// A Live stream on the hostile data source, for a few seconds.
		live := json.RawMessage(`{"queryType":"ttest","measurement":"m","fields":["temp"],"window":"1s","history":5,"alpha":0.01,"mode":"points","pollInterval":"200ms","settle":"500ms"}`)
		if sub, err := host.Subscribe(ctx, uid(n, "select"), liveChannel(t, "ttest", live), live); err != nil {
			report = append(report, "Live           refused: "+err.Error())
		} else {
			frames := 0
			for end := time.After(3 * time.Second); ; {
				select {
				case f := <-sub.Frames:
					frames++
					if bad := invalidText(data.Frames{f}); bad != "" {
						t.Errorf("%s, Live: a frame with invalid UTF-8: %s", a.name, bad)
					}
					continue
				case <-end:
				}
				break
			}
			sub.Close(host)
			report = append(report, fmt.Sprintf("Live           %d frames", frames))
		}
		if host.Exited() || host.Pid() != pid {
			t.Fatalf("%s: the plugin process exited\n%s", a.name, strings.Join(report, "\n"))
		}
		if o := run(dsMain, healthy); o.err != "" || o.hung || !strings.Contains(o.answer, "temperatures") {
			t.Fatalf("%s: a healthy query afterwards: %+v", a.name, o)
		}
		t.Logf("%s (plugin resident memory %s):\n  %s", a.name, residentMemory(pid), strings.Join(report, "\n  "))
	}
}

// brief is an outcome in one line of at most 160 characters.
func brief(o outcome) string {
	s := "answered " + o.answer
	switch {
	case o.hung:
		s = "hung"
	case o.err != "":
		s = "error: " + o.err
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// invalidText is the first name, label or string value of frames that is
// not valid UTF-8, quoted; "" when there is none.
func invalidText(frames data.Frames) string {
	for _, f := range frames {
		texts := []string{f.Name}
		for _, field := range f.Fields {
			texts = append(texts, field.Name)
			for k, v := range field.Labels {
				texts = append(texts, k, v)
			}
			for i := 0; i < field.Len(); i++ {
				switch v := field.At(i).(type) {
				case string:
					texts = append(texts, v)
				case *string:
					if v != nil {
						texts = append(texts, *v)
					}
				}
			}
		}
		for _, s := range texts {
			if !utf8.ValidString(s) {
				return fmt.Sprintf("%.80q", s)
			}
		}
	}
	return ""
}

// residentMemory is the process's resident set (VmRSS), for the log.
func residentMemory(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
