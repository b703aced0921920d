package plugin

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The t-test state cache's metrics, on the default registry that the SDK
// serves to Grafana (CollectMetrics), per data source instance.
var (
	stateRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "vigil", Name: "ttest_state_requests_total",
		Help: "t-test queries by whether kept state answered them (hit) or they ran without it (miss).",
	}, []string{"datasource_uid", "result"})
	stateEvictions = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "vigil", Name: "ttest_state_evictions_total",
		Help: "t-test state entries dropped to stay under the data source's stateMaxMB.",
	}, []string{"datasource_uid"})
	stateBytes = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "vigil", Name: "ttest_state_bytes",
		Help: "Bytes of t-test state kept between queries.",
	}, []string{"datasource_uid"})
)

// cacheMetrics reports one instance's cache to the metrics above.
type cacheMetrics struct{ uid string }

func (m cacheMetrics) Hit()              { stateRequests.WithLabelValues(m.uid, "hit").Inc() }
func (m cacheMetrics) Miss()             { stateRequests.WithLabelValues(m.uid, "miss").Inc() }
func (m cacheMetrics) Evict()            { stateEvictions.WithLabelValues(m.uid).Inc() }
func (m cacheMetrics) Bytes(total int64) { stateBytes.WithLabelValues(m.uid).Set(float64(total)) }
