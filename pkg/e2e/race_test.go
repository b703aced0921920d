package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// raceReport is how the race detector starts each report.
const raceReport = "WARNING: DATA RACE"

// TestRaceThroughHost: the plugin built with -race runs under the plugin
// host (GORACE halt_on_error: the first race ends the process) against the
// real InfluxDB and a Kafka broker that asks for SASL PLAIN, with a client
// id set (the Kafka client's options differ from the bare ones only then).
// For VIGIL_RACE_FOR (default 30s) six callers send queries of every type
// at once (t-test in both modes, some on tag values that find no data,
// power, alerts, Flux, InfluxQL, kafka), the schema resources, Save & test
// and metrics, while Live subscriptions of ttest, power and kafka channels
// come and go, on a data source whose kept-state cache is a few KiB (so
// entries are evicted all the time). The race detector must report
// nothing, the plugin must still run, every kind of call must have
// answered without an error, and no secret may be in the plugin's stderr.
func TestRaceThroughHost(t *testing.T) {
	needServers(t)
	runFor := 30 * time.Second
	if v := os.Getenv("VIGIL_RACE_FOR"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("VIGIL_RACE_FOR: %v", err)
		}
		runFor = d
	}
	ctx := context.Background()
	dir := t.TempDir()
	h, stderr := startRaceHost(t, dir)

	// Kafka: one broker that requires SASL PLAIN.
	const kafkaUser, kafkaPassword = "vigil", "race-kafka-password"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "race"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", kafkaUser, kafkaPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	producer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("race"),
		kgo.SASL(plain.Auth{User: kafkaUser, Pass: kafkaPassword}.AsMechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	jsonData, _ := json.Marshal(map[string]any{"defaultBucket": "e2e/autogen", "timeout": 30, "maxPoints": 1000000,
		"stateMaxMB":   0.02, // 20 KiB: kept state is evicted all the time
		"kafkaBrokers": strings.Join(cluster.ListenAddrs(), ","), "kafkaClientId": "vigil-race",
		"kafkaSaslMechanism": "PLAIN", "kafkaUser": kafkaUser})
	const ds = "vigil-race"
	h.AddDatasource(backend.DataSourceInstanceSettings{ID: 30, UID: ds, Name: "Vigil race", URL: influxDB.URL, JSONData: jsonData,
		DecryptedSecureJSONData: map[string]string{"token": influxDB.Token(), "kafkaPassword": kafkaPassword}})

	// Data: three printers at 10 Hz and power readings, two minutes of
	// history and then in real time, to InfluxDB and to the topic.
	rng := rand.New(rand.NewPCG(61, 62))
	var rngMu sync.Mutex
	lines := func(ts time.Time) []string {
		rngMu.Lock()
		defer rngMu.Unlock()
		var out []string
		for p := range 3 {
			out = append(out, fmt.Sprintf("race,printer=p%d temp=%v %d", p+1, 50+rng.NormFloat64(), ts.UnixNano()))
		}
		return append(out, fmt.Sprintf("racepower Global_active_power=%v,Sub_metering_1=1,Sub_metering_2=0,Sub_metering_3=2 %d", 1+rng.Float64(), ts.UnixNano()))
	}
	produce := func(ls []string) error {
		var records []*kgo.Record
		for _, l := range ls {
			if strings.HasPrefix(l, "race,") {
				records = append(records, &kgo.Record{Value: []byte(l)})
			}
		}
		return producer.ProduceSync(ctx, records...).FirstErr()
	}
	var history []string
	for ts := time.Now().Add(-2 * time.Minute); ts.Before(time.Now()); ts = ts.Add(100 * time.Millisecond) {
		history = append(history, lines(ts)...)
	}
	if err := writeNs(ctx, "e2e/autogen", history...); err != nil {
		t.Fatal(err)
	}
	if err := produce(history); err != nil {
		t.Fatal(err)
	}
	stopWriter := writeRealTime(t, func(ts time.Time) string {
		ls := lines(ts)
		if err := produce(ls); err != nil {
			t.Errorf("producing to Kafka: %v", err)
		}
		return strings.Join(ls, "\n")
	})
	defer stopWriter()

	calls := raceCalls(h, ds)
	deadline := time.Now().Add(runFor)
	var mu sync.Mutex
	ok, failed := map[string]int{}, map[string][]string{}
	note := func(kind string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed[kind] = append(failed[kind], err.Error())
			return
		}
		ok[kind]++
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 63))
			for time.Now().Before(deadline) {
				c := calls[r.IntN(len(calls))]
				callCtx, cancel := context.WithTimeout(ctx, time.Minute)
				note(c.kind, c.call(callCtx, r))
				cancel()
			}
		}()
	}
	// Live: viewers of ttest, power and kafka channels come and go, two of
	// them on one channel at times.
	for v := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(v), 64))
			for time.Now().Before(deadline) {
				kind, query := raceLiveQuery(r)
				sub, err := h.Subscribe(ctx, ds, liveChannel(t, kind, query), query)
				if err != nil {
					note("live "+string(kind), err)
					continue
				}
				frames := 0
				if sub.Initial != nil {
					frames++
				}
				hold := time.After(time.Duration(2+r.IntN(4)) * time.Second)
			read:
				for {
					select {
					case <-sub.Frames:
						frames++
					case <-hold:
						break read
					}
				}
				sub.Close(h)
				if frames > 0 {
					note("live "+string(kind), nil)
				}
			}
		}()
	}
	wg.Wait()

	// A race ends the plugin (halt_on_error): its report comes first.
	if report := firstRace(stderr.String()); report != "" {
		t.Fatalf("the race detector reported (its first report):\n%s", report)
	}
	for _, secret := range []string{kafkaPassword, influxDB.Password} {
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("a secret in the plugin's stderr")
		}
	}
	if h.Exited() {
		t.Fatalf("the plugin exited; its stderr ends:\n%s", tail([]byte(stderr.String()), 8192))
	}
	var kinds []string
	for _, c := range calls {
		kinds = append(kinds, c.kind)
	}
	kinds = append(kinds, "live ttest", "live power", "live kafka")
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	var summary []string
	for _, k := range kinds {
		summary = append(summary, fmt.Sprintf("%s %d", k, ok[k]))
		if errs := failed[k]; len(errs) > 0 {
			t.Errorf("%s: %d errors, the first: %s", k, len(errs), errs[0])
		}
		if ok[k] == 0 && len(failed[k]) == 0 {
			t.Errorf("%s: never answered (nothing was tested)", k)
		}
	}
	t.Logf("no race in %s under the race detector; answers: %s", runFor, strings.Join(summary, ", "))
}

// firstRace is the first race report in the plugin's stderr ("" if none):
// from its warning to the line of = that ends it.
func firstRace(stderr string) string {
	i := strings.Index(stderr, raceReport)
	if i < 0 {
		return ""
	}
	report := stderr[i:]
	if j := strings.Index(report, "\n=================="); j >= 0 {
		report = report[:j]
	}
	return report
}

// syncBuffer is a bytes.Buffer safe to write from go-plugin's stderr reader
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRaceHost builds the plugin from this tree with -race (as mage's
// build does, with the race detector) into dir, with the plugin.json the
// host reads beside it, and starts it under its own plugin host; the
// buffer receives the plugin's stderr.
func startRaceHost(t *testing.T, dir string) (*pluginhost.Host, *syncBuffer) {
	t.Helper()
	exe := filepath.Join(dir, filepath.Base(pluginhost.Executable(root)))
	build := exec.Command("go", "build", "-race", "-tags", "arrow_json_stdlib", "-o", exe, "./pkg")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=1") // the race detector needs cgo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -race ./pkg: %v\n%s", err, out)
	}
	manifest, err := os.ReadFile(filepath.Join(root, "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifest = bytes.ReplaceAll(manifest, []byte("%VERSION%"), []byte("0.0.0-race"))
	if err := os.WriteFile(filepath.Join(dir, "plugin.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	h, err := pluginhost.Start(context.Background(), pluginhost.Options{Executable: exe, LogPath: filepath.Join(dir, "plugin.log"),
		Env: []string{"GORACE=halt_on_error=1 exitcode=66"}, Stderr: stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h, stderr
}

// raceCall is one kind of call the race test sends at random.
type raceCall struct {
	kind string
	call func(context.Context, *rand.Rand) error
}

// raceCalls are queries of every type, the schema resources, Save & test
// and metrics. The t-test varies over a few histories and printers so that
// callers share kept state, and over distinct printers with no data (the
// empty entries); ranges end on the second, so that keys repeat.
func raceCalls(h *pluginhost.Host, ds string) []raceCall {
	query := func(model func(r *rand.Rand) map[string]any) func(context.Context, *rand.Rand) error {
		return func(ctx context.Context, r *rand.Rand) error {
			m := model(r)
			m["refId"] = "A"
			end := time.Now().Truncate(time.Second)
			req, err := pluginhost.PanelRequest(end.Add(-90*time.Second), end, 1000, time.Second, m)
			if err != nil {
				return err
			}
			resp, err := h.QueryData(ctx, ds, req)
			if err != nil {
				return err
			}
			return resp.Responses["A"].Error
		}
	}
	resource := func(url string) func(context.Context, *rand.Rand) error {
		return func(ctx context.Context, _ *rand.Rand) error {
			path, _, _ := strings.Cut(url, "?")
			resp, err := h.CallResource(ctx, ds, &backend.CallResourceRequest{Method: "GET", Path: path, URL: url})
			if err == nil && resp.Status/100 != 2 {
				err = fmt.Errorf("%s: HTTP %d: %s", url, resp.Status, resp.Body)
			}
			return err
		}
	}
	ttest := func(mode string) func(r *rand.Rand) map[string]any {
		return func(r *rand.Rand) map[string]any {
			printer := fmt.Sprintf("p%d", 1+r.IntN(3))
			if r.IntN(4) == 0 {
				printer = fmt.Sprintf("none-%d", r.IntN(1000)) // finds no data
			}
			return map[string]any{"queryType": "ttest", "measurement": "race", "tags": map[string]string{"printer": printer},
				"fields": []string{"temp"}, "window": "1s", "history": 20 + r.IntN(3), "mode": mode}
		}
	}
	fixed := func(m map[string]any) func(*rand.Rand) map[string]any {
		return func(*rand.Rand) map[string]any { return maps.Clone(m) }
	}
	return []raceCall{
		{"ttest points", query(ttest("points"))},
		{"ttest windows", query(ttest("windows"))},
		{"power", query(fixed(map[string]any{"queryType": "power", "measurement": "racepower", "aggregate": "none"}))},
		{"alerts", query(fixed(map[string]any{"queryType": "alerts", "bucket": "e2e/autogen"}))},
		{"flux", query(fixed(map[string]any{"queryType": "flux", "flux": `from(bucket: v.bucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop) |> filter(fn: (r) => r._measurement == "race") |> count()`}))},
		{"influxql", query(fixed(map[string]any{"queryType": "influxql", "influxql": `SELECT mean("temp") FROM "race" WHERE $timeFilter GROUP BY time(10s), "printer"`}))},
		{"kafka", query(func(r *rand.Rand) map[string]any {
			return map[string]any{"queryType": "kafka", "topic": "race", "measurement": "race", "tags": map[string]string{"printer": fmt.Sprintf("p%d", 1+r.IntN(3))},
				"fields": []string{"temp"}, "window": "1s", "history": 20 + r.IntN(3)}
		})},
		{"measurements", resource("measurements?bucket=e2e/autogen")},
		{"fields", resource("fields?bucket=e2e/autogen&measurement=race")},
		{"tag-keys", resource("tag-keys?bucket=e2e/autogen&measurement=race")},
		{"tag-values", resource("tag-values?bucket=e2e/autogen&measurement=race&key=printer")},
		{"Save & test", func(ctx context.Context, _ *rand.Rand) error {
			res, err := h.CheckHealth(ctx, ds)
			if err == nil && res.Status != backend.HealthStatusOk {
				err = fmt.Errorf("health: %s", res.Message)
			}
			return err
		}},
		{"metrics", func(ctx context.Context, _ *rand.Rand) error {
			_, err := h.Metrics(ctx, ds)
			return err
		}},
	}
}

// raceLiveQuery is a Live channel's kind and query: a t-test, power or
// kafka stream of one of three printers.
func raceLiveQuery(r *rand.Rand) (models.QueryType, json.RawMessage) {
	printer := fmt.Sprintf("p%d", 1+r.IntN(3))
	switch r.IntN(3) {
	case 0:
		return "ttest", json.RawMessage(fmt.Sprintf(`{"queryType":"ttest","measurement":"race","tags":{"printer":%q},"fields":["temp"],"window":"1s","history":20,"mode":"points","pollInterval":"200ms","settle":"500ms"}`, printer))
	case 1:
		return "power", json.RawMessage(`{"queryType":"power","measurement":"racepower","aggregate":"none","pollInterval":"500ms"}`)
	}
	return "kafka", json.RawMessage(fmt.Sprintf(`{"queryType":"kafka","topic":"race","measurement":"race","tags":{"printer":%q},"fields":["temp"],"window":"1s","history":20,"settle":"300ms"}`, printer))
}
