package plugin

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// CheckHealth reaches InfluxDB and says what it found: the version (the
// X-Influxdb-Version header of /ping) and product line, that the default
// bucket can be read with InfluxQL (every query type but flux reads with
// it), and whether Flux answers. Each failure has its own message that says
// what to fix: an invalid setting, an unreachable server, a refused token or
// user/password, a missing bucket, or on InfluxDB 2.x a missing DBRP mapping;
// with Kafka brokers set, unreachable brokers, refused SASL or failed TLS.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return healthError(d.settingsErr.Error()), nil
	}
	version, err := d.client.Ping(ctx)
	if err != nil {
		return healthError(err.Error()), nil
	}
	bucket := d.settings.DefaultBucket
	if err := d.explainMissingBucket(ctx, d.client.CheckBucket(ctx, bucket), bucket, version); err != nil {
		d.logger.Info("health check failed", "error", err)
		return healthError(err.Error()), nil
	}
	found := "(version unknown)"
	if version != "" {
		found = version
		if line := influx.ProductLine(version); line != "" {
			found += " (" + line + ")"
		}
	}
	kafkaFound, err := d.checkKafka(ctx)
	if err != nil {
		d.logger.Info("health check failed", "error", err)
		return healthError(err.Error()), nil
	}
	flux := "Flux answers"
	if ok, why := d.client.FluxAnswers(ctx); !ok {
		flux = "Flux " + why + " (only flux queries need it)"
	}
	return &backend.CheckHealthResult{
		Status: backend.HealthStatusOk,
		Message: fmt.Sprintf("InfluxDB %s is reachable and bucket %s can be read. InfluxQL answers; %s.%s",
			found, influx.String(d.settings.DefaultBucket), flux, kafkaFound),
	}, nil
}

func healthError(msg string) *backend.CheckHealthResult {
	return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: msg}
}
