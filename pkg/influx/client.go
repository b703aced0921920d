package influx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

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
	// user and password, when user is set, are sent instead of token.
	user     string
	password string
	http     *http.Client
	// maxPoints bounds every InfluxQL answer (decodeAnswer); 0: no bound.
	maxPoints int64
}

// Config is what a Client needs to reach InfluxDB.
type Config struct {
	URL          string
	Organization string
	Token        string
	// User and Password are the v1 credentials, used instead of Token when
	// User is set.
	User     string
	Password string
	// HTTPClient carries the timeout, TLS and proxy options.
	HTTPClient *http.Client
	// MaxPoints bounds the values of every InfluxQL answer the client
	// reads (the data source's "Max points"); 0: no bound but the size
	// limits of bounded.go.
	MaxPoints int64
}

// NewClient creates a client; it does not contact InfluxDB.
func NewClient(cfg Config) *Client {
	cfg.HTTPClient = boundFlux(cfg.HTTPClient)
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(cfg.HTTPClient).
		SetApplicationName("vigil-anomaly-datasource").
		SetLogLevel(0)
	c := influxdb2.NewClientWithOptions(cfg.URL, fluxToken(cfg), opts)
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{client: c, query: c.QueryAPI(cfg.Organization), url: cfg.URL, org: cfg.Organization,
		token: cfg.Token, user: cfg.User, password: cfg.Password, http: httpClient, maxPoints: cfg.MaxPoints}
}

// fluxToken is the token the v2 API client sends: with v1 credentials,
// "user:password", the form InfluxDB 1.8 accepts as a token.
func fluxToken(cfg Config) string {
	if cfg.User != "" {
		return cfg.User + ":" + cfg.Password
	}
	return cfg.Token
}

// authorize sets the credentials of an InfluxQL (/query) request: HTTP Basic
// auth with v1 credentials (InfluxDB 1.x users, 2.x v1 authorizations, 3.x
// with the token as password), else the token; nothing when neither is set.
func (c *Client) authorize(req *http.Request) {
	switch {
	case c.user != "":
		req.SetBasicAuth(c.user, c.password)
	case c.token != "":
		req.Header.Set("Authorization", "Token "+c.token)
	}
}

// fail classifies an error of one of the client's calls.
func (c *Client) fail(err error) error { return c.nameCredentials(classify(err, c.url)) }

// nameCredentials makes a refused-credentials error name the credentials
// this client sends (classify says "token"); other errors pass unchanged.
func (c *Client) nameCredentials(err error) error {
	var e *Error
	if c == nil || c.user == "" || !errors.As(err, &e) || e.Kind != KindUnauthorized || e.detail == "" {
		return err
	}
	named := *e
	named.Message = refusedMessage(credentialsUserPassword, e.Status, e.detail)
	return &named
}

// Close releases the client's idle connections.
func (c *Client) Close() {
	c.client.Close()
}

// Ping reaches InfluxDB's /ping endpoint (1.x, 2.x and 3.x all serve it)
// and returns the version it reports in the X-Influxdb-Version header.
func (c *Client) Ping(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.url, "/")+"/ping", nil)
	if err != nil {
		return "", c.fail(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", c.fail(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return "", c.nameCredentials(fromStatus(resp.StatusCode, resp.Status, c.url))
	}
	return resp.Header.Get("X-Influxdb-Version"), nil
}

// ProductLine names the InfluxDB product line a version belongs to: "1.x",
// "2.x", "3.x", or "" when the version does not say.
func ProductLine(version string) string {
	v := strings.TrimPrefix(strings.ToLower(version), "v")
	for _, line := range []string{"1", "2", "3"} {
		if strings.HasPrefix(v, line+".") {
			return line + ".x"
		}
	}
	return ""
}

// FluxAnswers reports whether InfluxDB runs Flux queries, with a short
// reason when it does not (Flux switched off in InfluxDB 1.x, no Flux
// endpoint in 3.x). Only the flux query type needs it.
func (c *Client) FluxAnswers(ctx context.Context) (bool, string) {
	res, err := c.Query(ctx, "buckets() |> limit(n: 1)")
	if err == nil {
		for res.Next() {
		}
		err = res.Err()
		res.Close()
	}
	switch {
	case err == nil:
		return true, ""
	case strings.Contains(err.Error(), "Flux is disabled"):
		return false, "off: flux-enabled = false in [http]"
	}
	var e *Error
	if errors.As(err, &e) && e.Status != 0 {
		return false, fmt.Sprintf("not available: HTTP %d", e.Status)
	}
	return false, "not available"
}

// Query runs a Flux script and returns its result as a stream of records.
// The caller must close the result.
func (c *Client) Query(ctx context.Context, flux string) (*api.QueryTableResult, error) {
	res, err := c.query.Query(ctx, flux)
	if err != nil {
		return nil, c.fail(err)
	}
	return res, nil
}

// ResultError classifies an error met while reading a query result stream.
func (c *Client) ResultError(err error) error {
	return c.fail(err)
}

// Write writes points to bucket and waits until InfluxDB has them.
func (c *Client) Write(ctx context.Context, bucket string, points ...*write.Point) error {
	if err := c.client.WriteAPIBlocking(c.org, bucket).WritePoint(ctx, points...); err != nil {
		return c.fail(err)
	}
	return nil
}

// WriteLines writes line protocol (nanosecond timestamps) to bucket.
func (c *Client) WriteLines(ctx context.Context, bucket string, lines []string) error {
	if err := c.client.WriteAPIBlocking(c.org, bucket).WriteRecord(ctx, lines...); err != nil {
		return c.fail(err)
	}
	return nil
}
