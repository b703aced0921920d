package influx

import (
	"context"
	"fmt"
	"net/http"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
)

// Client is one data source's connection to InfluxDB. It is safe for
// concurrent use and must be closed when the data source settings change.
type Client struct {
	client influxdb2.Client
	query  api.QueryAPI
	url    string
	org    string
	token  string
	http   *http.Client
}

// Config is what a Client needs to reach InfluxDB.
type Config struct {
	URL          string
	Organization string
	Token        string
	// HTTPClient carries the timeout, TLS and proxy options.
	HTTPClient *http.Client
}

// NewClient creates a client; it does not contact InfluxDB.
func NewClient(cfg Config) *Client {
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(cfg.HTTPClient).
		SetApplicationName("vigil-anomaly-datasource").
		SetLogLevel(0)
	c := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{client: c, query: c.QueryAPI(cfg.Organization), url: cfg.URL, org: cfg.Organization, token: cfg.Token, http: httpClient}
}

// Close releases the client's idle connections.
func (c *Client) Close() {
	c.client.Close()
}

// Health asks InfluxDB's /health endpoint whether it is ready and returns its version.
func (c *Client) Health(ctx context.Context) (string, error) {
	h, err := c.client.Health(ctx)
	if err != nil {
		return "", classify(err, c.url)
	}
	if h.Status != "pass" {
		msg := ""
		if h.Message != nil {
			msg = *h.Message
		}
		return "", &Error{Kind: KindUnavailable, Message: fmt.Sprintf("InfluxDB at %s is not ready (status %q: %s)", c.url, h.Status, msg)}
	}
	version := ""
	if h.Version != nil {
		version = *h.Version
	}
	return version, nil
}

// Query runs a Flux script and returns its result as a stream of records.
// The caller must close the result.
func (c *Client) Query(ctx context.Context, flux string) (*api.QueryTableResult, error) {
	res, err := c.query.Query(ctx, flux)
	if err != nil {
		return nil, classify(err, c.url)
	}
	return res, nil
}

// ResultError classifies an error met while reading a query result stream.
func (c *Client) ResultError(err error) error {
	return classify(err, c.url)
}

// Write writes points to bucket and waits until InfluxDB has them.
func (c *Client) Write(ctx context.Context, bucket string, points ...*write.Point) error {
	if err := c.client.WriteAPIBlocking(c.org, bucket).WritePoint(ctx, points...); err != nil {
		return classify(err, c.url)
	}
	return nil
}

// WriteLines writes line protocol (nanosecond timestamps) to bucket.
func (c *Client) WriteLines(ctx context.Context, bucket string, lines []string) error {
	if err := c.client.WriteAPIBlocking(c.org, bucket).WriteRecord(ctx, lines...); err != nil {
		return classify(err, c.url)
	}
	return nil
}
