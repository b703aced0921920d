package plugin

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// CheckHealth reaches InfluxDB and confirms that the default bucket can be
// read. Each failure has its own message that says what to fix: an invalid
// setting, an unreachable server, a refused token or a missing bucket.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return healthError(d.settingsErr.Error()), nil
	}
	version, err := d.client.Health(ctx)
	if err != nil {
		return healthError(err.Error()), nil
	}
	if err := d.client.CheckBucket(ctx, d.settings.DefaultBucket); err != nil {
		d.logger.Info("health check failed", "error", err)
		return healthError(err.Error()), nil
	}
	if version == "" {
		version = "(version unknown)"
	}
	return &backend.CheckHealthResult{
		Status:  backend.HealthStatusOk,
		Message: fmt.Sprintf("InfluxDB %s is reachable and bucket %s can be read", version, influx.String(d.settings.DefaultBucket)),
	}, nil
}

func healthError(msg string) *backend.CheckHealthResult {
	return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: msg}
}
