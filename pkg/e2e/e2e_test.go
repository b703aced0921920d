// Package e2e tests Vigil end to end the way Grafana runs it, without a
// Grafana server: the built dist/gpx_vigil_linux_amd64 is started by the
// plugin host (hashicorp/go-plugin with the SDK's handshake, gRPC, the SDK's
// pluginv2 clients) against a real InfluxDB, with the data sources Grafana
// would hold, and is sent the requests Grafana sends: panel and alert-rule
// queries, health checks, resource calls (also over Grafana's HTTP resource
// route) and Live subscriptions.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/loader"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
	"github.com/vigil/vigil-anomaly-datasource/pkg/standin"
)

var (
	influxDB *devenv.InfluxDB
	// influxNoFlux runs as InfluxDB 1.8 is installed: Flux disabled.
	influxNoFlux *devenv.InfluxDB
	// stack is the plugin under the host with what stands in for Grafana
	// around it (provisioning, resource route, Alertmanager, SMTP, rules);
	// host is stack.Host.
	stack *standin.Stack
	host  *pluginhost.Host
	// root is the repository (plugin.json, dist/, provisioning/, dashboards/).
	root string
	// dayAgo is where the loaded printer day starts (anomalies 1 h, 8 h and
	// 12 h into it).
	dayAgo time.Time
)

// receiverToken stands for the service-account token Grafana's resource
// route requires.
const receiverToken = "e2e-service-account-token"

// wrongPassword is the password of the data source InfluxDB refuses.
const wrongPassword = "not-the-password-e2e"

// The data sources the tests register, as Grafana would hold them: the
// provisioned one (uid vigil, default bucket e2e/autogen), a second instance
// on the household database, and one with a wrong password.
const (
	dsMain      = devenv.DatasourceUID
	dsHouse     = "vigil-house"
	dsWrongAuth = "vigil-wrong-password"
	dsNoFlux    = "vigil-flux-off"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	if root, err = scenario.RepoRoot(); err != nil {
		return 1, err
	}
	dir, err := os.MkdirTemp("", "vigil-e2e-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := os.MkdirAll(filepath.Join(dir, "influxdb"), 0o755); err != nil {
		return 1, err
	}
	influxDB, err = devenv.StartInfluxDB(ctx, filepath.Join(dir, "influxdb"))
	if err != nil {
		return 1, err
	}
	defer influxDB.Stop()
	for _, db := range []string{"e2e", "house", "printer"} {
		if err := influxDB.CreateDatabase(ctx, db); err != nil {
			return 1, err
		}
	}
	// The demo's data: a day of printer data ending now; two days of
	// household data ending an hour ago, so the power rule (last 10 minutes)
	// starts with no data and only a test's spike makes it fire.
	dayAgo = time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	if err := scenario.Load(influxDB, "printer/autogen", func(w *loader.Writer) error { return loader.Printer(ctx, w, dayAgo, datagen.PrinterPoints, 1) }); err != nil {
		return 1, err
	}
	if err := scenario.Load(influxDB, "house/autogen", func(w *loader.Writer) error {
		return loader.Household(ctx, w, time.Now().Add(-49*time.Hour).Truncate(time.Minute), 2*1440, 1)
	}); err != nil {
		return 1, err
	}

	if err := os.MkdirAll(filepath.Join(dir, "influxdb-noflux"), 0o755); err != nil {
		return 1, err
	}
	if influxNoFlux, err = devenv.StartInfluxDBWith(ctx, filepath.Join(dir, "influxdb-noflux"), false); err != nil {
		return 1, err
	}
	defer influxNoFlux.Stop()
	if err := influxNoFlux.CreateDatabase(ctx, "printer"); err != nil {
		return 1, err
	}
	w := loader.NewWriter(influxNoFlux.URL, influxNoFlux.Token(), "printer/autogen")
	if err := loader.Printer(ctx, w, dayAgo, datagen.PrinterPoints, 1); err != nil {
		return 1, err
	}
	if err := w.Close(ctx); err != nil {
		return 1, err
	}

	topic, err := scenario.StartPrinterTopic(ctx, filepath.Join(dir, "kafka"), dayAgo)
	if err != nil {
		return 1, err
	}
	defer topic.Stop()

	transcript, err := os.Create(filepath.Join(dir, "transcript.jsonl"))
	if err != nil {
		return 1, err
	}
	defer transcript.Close()
	stack, err = standin.StartStack(ctx, standin.StackOptions{Root: root, Dir: dir, InfluxDB: influxDB,
		DefaultBucket: "e2e/autogen", KafkaBrokers: topic.Addr, Token: receiverToken, Transcript: transcript})
	if err != nil {
		return 1, err
	}
	defer stack.Stop()
	host = stack.Host
	noFlux := vigilDatasource(4, dsNoFlux, influxNoFlux.Token(), "printer/autogen")
	noFlux.URL = influxNoFlux.URL
	// Its receiver writes the household's alert history (fluxOffHouse).
	noFlux.JSONData = json.RawMessage(`{"defaultBucket":"printer/autogen","alertHistoryBucket":"house/autogen","timeout":30,"maxPoints":1000000}`)
	for _, ds := range []backend.DataSourceInstanceSettings{
		vigilDatasource(2, dsHouse, influxDB.Token(), "house/autogen"),
		vigilDatasource(3, dsWrongAuth, influxDB.User+":"+wrongPassword, "e2e/autogen"),
		noFlux,
	} {
		host.AddDatasource(ds)
	}
	code := m.Run()
	if code == 0 {
		if err := scanForSecrets(transcript.Name(), stack.LogPath,
			influxDB.Password, influxNoFlux.Password, wrongPassword, receiverToken); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	if code != 0 {
		if log, err := os.ReadFile(stack.LogPath); err == nil {
			fmt.Fprintf(os.Stderr, "--- the plugin's log (last 4 KiB) ---\n%s\n", tail(log, 4096))
		}
	}
	return code, nil
}

// vigilDatasource is a Vigil data source instance as Grafana passes it to
// the plugin: jsonData as JSON, secureJsonData decrypted.
func vigilDatasource(id int64, uid, token, bucket string) backend.DataSourceInstanceSettings {
	jsonData, _ := json.Marshal(map[string]any{"defaultBucket": bucket, "timeout": 30, "maxPoints": 1000000})
	return backend.DataSourceInstanceSettings{
		ID: id, UID: uid, Name: "Vigil " + uid, URL: influxDB.URL, JSONData: jsonData,
		DecryptedSecureJSONData: map[string]string{"token": token},
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func needServers(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: needs InfluxDB and the built plugin (run without -short)")
	}
}

// panelQuery runs queries as a dashboard panel does (1,000 points, 1 s
// interval unless the models say otherwise) on a data source.
func panelQuery(t *testing.T, dsUID string, from, to time.Time, models ...map[string]any) *backend.QueryDataResponse {
	t.Helper()
	req, err := pluginhost.PanelRequest(from, to, 1000, time.Second, models...)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := host.QueryData(context.Background(), dsUID, req)
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	return resp
}

// rows is the number of rows of a response's frames.
func rows(frames data.Frames) int {
	n := 0
	for _, f := range frames {
		n += f.Rows()
	}
	return n
}

// writeNs writes line protocol with nanosecond timestamps.
func writeNs(ctx context.Context, bucket string, lines ...string) error {
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	return c.WriteLines(ctx, bucket, lines)
}

// liveChannel is the channel path Vigil's front end subscribes query to.
func liveChannel(t testing.TB, queryType models.QueryType, query json.RawMessage) string {
	t.Helper()
	path, err := models.LiveChannel(queryType, query)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// scanForSecrets runs once every test passed: it collects the metrics of
// every data source through the plugin host, then searches everything the
// plugin said in the whole suite (every answer, frame, resource body, Live
// frame, error and metric in the transcript, and its log) for each secret.
func scanForSecrets(transcriptPath, logPath string, secrets ...string) error {
	for _, uid := range []string{dsMain, dsHouse, dsWrongAuth, dsNoFlux} {
		if _, err := host.Metrics(context.Background(), uid); err != nil {
			return fmt.Errorf("metrics of %s: %w", uid, err)
		}
	}
	var found []string
	var scanned int
	for _, path := range []string{transcriptPath, logPath} {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned += len(b)
		for _, secret := range secrets {
			if n := bytes.Count(b, []byte(secret)); n > 0 {
				found = append(found, fmt.Sprintf("%d in %s", n, filepath.Base(path)))
			}
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("secrets in the plugin's answers or log: %v", found)
	}
	fmt.Printf("secrets scan: %d secrets, %d bytes of answers, metrics and logs, found 0\n", len(secrets), scanned)
	return nil
}

// writeRealTime writes line(now) to e2e/autogen every 100 ms (10 Hz, as a
// sensor does) until the returned stop, which waits for the last write.
func writeRealTime(t testing.TB, line func(time.Time) string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := writeNs(context.Background(), "e2e/autogen", line(time.Now())); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }
}
