package grafana

import (
	"context"
	"strings"
	"testing"
)

// TestHealthWhenInfluxDBStops runs last (its file sorts after the other
// tests' files): it stops InfluxDB, checks the
// message, and starts it again.
func TestHealthWhenInfluxDBStops(t *testing.T) {
	needLocalInfluxDB(t)
	influxDB.Stop()
	h, _ := checkHealth(t)
	if h.Status != "ERROR" || !strings.Contains(h.Message, "cannot reach InfluxDB at "+influxDB.URL) {
		t.Fatalf("health with InfluxDB stopped: %+v", h)
	}
	if strings.Contains(h.Message, influxDB.Password) {
		t.Fatal("the message leaks the token")
	}
	if err := influxDB.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h, _ := checkHealth(t); h.Status != "OK" {
		t.Fatalf("health after InfluxDB restarted: %+v", h)
	}
}
