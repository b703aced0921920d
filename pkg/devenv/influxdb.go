package devenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
)

// InfluxDB is a running influxd with authentication on and one admin user.
type InfluxDB struct {
	URL      string
	User     string
	Password string
	dir      string
	config   string
	proc     *process
}

// Token is the InfluxDB 1.8 v2-API token for the admin user.
func (i *InfluxDB) Token() string { return i.User + ":" + i.Password }

// StartInfluxDB starts influxd with its data in dir, on free loopback ports,
// with Flux enabled.
func StartInfluxDB(ctx context.Context, dir string) (*InfluxDB, error) {
	return StartInfluxDBWith(ctx, dir, true)
}

// StartInfluxDBWith starts influxd with Flux enabled or not (InfluxDB 1.8's
// default, and how most Kapacitor installations run, is off).
func StartInfluxDBWith(ctx context.Context, dir string, flux bool) (*InfluxDB, error) {
	if !exists(InfluxDBBinary()) {
		return nil, MissingError()
	}
	httpPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	rpcPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	i := &InfluxDB{
		URL:      "http://" + loopback(httpPort),
		User:     "vigil",
		Password: "vigil-local-password",
		dir:      dir,
		config:   filepath.Join(dir, "influxdb.conf"),
	}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = %q
  auth-enabled = true
  flux-enabled = %t
  log-enabled = false
  max-body-size = 0
[logging]
  level = "warn"
`, loopback(rpcPort), filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), loopback(httpPort), flux)
	if err := os.WriteFile(i.config, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := i.Start(ctx); err != nil {
		return nil, err
	}
	// With auth on and no users yet, InfluxDB accepts exactly this statement unauthenticated.
	if err := i.Exec(ctx, fmt.Sprintf("CREATE USER %q WITH PASSWORD '%s' WITH ALL PRIVILEGES", i.User, i.Password)); err != nil {
		i.Stop()
		return nil, err
	}
	return i, nil
}

// Start (re)starts a stopped influxd on the same ports and data.
func (i *InfluxDB) Start(ctx context.Context) error {
	p, err := startProcess(InfluxDBBinary(), []string{"-config", i.config}, nil, filepath.Join(i.dir, "influxd.log"))
	if err != nil {
		return err
	}
	i.proc = p
	if err := waitHealthy(ctx, i.URL+"/health", p.exited, 60*time.Second); err != nil {
		p.stop(5 * time.Second)
		return fmt.Errorf("influxd: %w (log: %s)", err, filepath.Join(i.dir, "influxd.log"))
	}
	return nil
}

// Stop shuts influxd down; its data stays for a later Start.
func (i *InfluxDB) Stop() {
	if i.proc != nil {
		i.proc.stop(10 * time.Second)
	}
}

// Exec runs one InfluxQL statement as the admin user (if it exists yet).
func (i *InfluxDB) Exec(ctx context.Context, statement string) error {
	form := url.Values{"q": {statement}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !strings.HasPrefix(statement, "CREATE USER") {
		req.SetBasicAuth(i.User, i.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), `"error"`) {
		return fmt.Errorf("influxql %q: HTTP %d: %s", statement, resp.StatusCode, body)
	}
	return nil
}

// CreateDatabase creates a database (bucket "<name>/autogen").
func (i *InfluxDB) CreateDatabase(ctx context.Context, name string) error {
	return i.Exec(ctx, fmt.Sprintf("CREATE DATABASE %q", name))
}

// WriteLines writes n lines of line protocol (timestamps in seconds) to
// bucket, in batches, through the InfluxDB client.
func (i *InfluxDB) WriteLines(ctx context.Context, bucket string, n int, line func(i int) string) error {
	c := influxdb2.NewClientWithOptions(i.URL, i.Token(), influxdb2.DefaultOptions().SetPrecision(time.Second))
	defer c.Close()
	w := c.WriteAPIBlocking("", bucket)
	batch := make([]string, 0, 20_000)
	for k := 0; k < n; k++ {
		batch = append(batch, line(k))
		if len(batch) == cap(batch) || k == n-1 {
			if err := w.WriteRecord(ctx, batch...); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}
