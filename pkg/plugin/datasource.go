// Package plugin holds Vigil's Grafana-facing handlers: instance lifecycle,
// queries and health checks. It delegates parsing to models, InfluxDB access
// to influx and frame building to frames.
package plugin

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/kafka"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// Make sure Datasource implements the SDK's handler interfaces.
var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one Vigil data source instance. The SDK's instance manager
// creates it when the settings change and disposes the previous one.
type Datasource struct {
	settings models.Settings
	// settingsErr is set when the settings are unusable; queries and health
	// checks report it instead of failing instance creation, so the user sees
	// which setting to fix.
	settingsErr error
	client      *influx.Client
	// cache keeps t-test state between queries (alert evaluations, panels).
	cache *ttest.Cache
	// topics reads the Kafka brokers of kafka queries (nil: none set).
	topics    *kafka.Client
	logger    log.Logger
	resources backend.CallResourceHandler
	// live holds the Live channels' shared warm-ups and failures (livehub.go).
	live liveHub
}

// NewDatasource is the SDK's instance factory.
func NewDatasource(ctx context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	logger := log.DefaultLogger.FromContext(ctx).With("datasource_uid", s.UID)
	ds := &Datasource{logger: logger}
	ds.resources = httpadapter.New(ds.newResourceHandler())
	settings, err := models.LoadSettings(s)
	if err != nil {
		logger.Warn("data source settings are invalid", "error", err)
		ds.settingsErr = err
		return ds, nil
	}
	ds.settings = settings

	opts, err := s.HTTPClientOptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("http client options: %w", err)
	}
	opts.Timeouts.Timeout = settings.Timeout
	httpClient, err := httpclient.New(opts)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	ds.client = influx.NewClient(influx.Config{
		URL:          settings.URL,
		Organization: settings.Organization,
		Token:        settings.Token,
		User:         settings.User,
		Password:     settings.Password,
		HTTPClient:   httpClient,
		MaxPoints:    settings.MaxPoints,
	})
	if len(settings.Kafka.Brokers) > 0 {
		if ds.topics, err = kafka.New(settings.Kafka, settings.Timeout); err != nil {
			return nil, fmt.Errorf("kafka client: %w", err)
		}
	}
	ds.cache = &ttest.Cache{MaxBytes: settings.StateMaxBytes, Horizon: settings.StateHorizon, Metrics: cacheMetrics{uid: s.UID}}
	return ds, nil
}

// CallResource serves the plugin's HTTP resources (see resources.go).
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}

// Dispose closes the InfluxDB and Kafka clients when Grafana replaces this instance.
func (d *Datasource) Dispose() {
	if d.client != nil {
		d.client.Close()
	}
	if d.topics != nil {
		d.topics.Close()
	}
}
