// Package alerteval evaluates a Grafana-managed alert rule the way Grafana's
// unified alerting does, for the subset of rules Vigil's provisioning uses:
// data source queries, then the server-side expressions reduce, threshold
// and math, then one alert instance per label set, its annotations rendered,
// and the Alertmanager alerts Grafana's sender would post.
//
// Where each behaviour comes from is in README.md; the main sources are
// Grafana's alerting docs (https://grafana.com/docs/grafana/latest/alerting/)
// and its expression docs (.../panels-visualizations/query-transform-data/expression-queries/).
package alerteval

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// ExprDatasourceUID is the data source UID of server-side expressions;
// ExprDatasourceLegacyUID is the older numeric form Grafana also accepts.
const (
	ExprDatasourceUID       = "__expr__"
	ExprDatasourceLegacyUID = "-100"
)

// Rule is a Grafana alert rule in the shape of Grafana's provisioning files
// and alert rule API (the fields this package reads).
type Rule struct {
	UID         string            `yaml:"uid,omitempty" json:"uid,omitempty"`
	OrgID       int64             `yaml:"orgId,omitempty" json:"orgId,omitempty"`
	Title       string            `yaml:"title" json:"title"`
	Folder      string            `yaml:"folder,omitempty" json:"folder,omitempty"`
	Condition   string            `yaml:"condition" json:"condition"`
	Data        []Query           `yaml:"data" json:"data"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
	// NoDataState is NoData (default), Alerting or OK; ExecErrState is
	// Error (default), Alerting or OK. KeepLast is not supported.
	NoDataState  string `yaml:"noDataState,omitempty" json:"noDataState,omitempty"`
	ExecErrState string `yaml:"execErrState,omitempty" json:"execErrState,omitempty"`
}

// RelativeTimeRange is a query's range in seconds before the evaluation
// time: the query reads now-From .. now-To.
type RelativeTimeRange struct {
	From int64 `yaml:"from" json:"from"`
	To   int64 `yaml:"to" json:"to"`
}

// Query is one entry of a rule's data: a data source query or, with
// DatasourceUID "__expr__", an expression.
type Query struct {
	RefID             string            `yaml:"refId" json:"refId"`
	QueryType         string            `yaml:"queryType,omitempty" json:"queryType,omitempty"`
	DatasourceUID     string            `yaml:"datasourceUid" json:"datasourceUid"`
	RelativeTimeRange RelativeTimeRange `yaml:"relativeTimeRange" json:"relativeTimeRange"`
	Model             map[string]any    `yaml:"model" json:"model"`
}

// IsExpression reports whether q is a server-side expression.
func (q Query) IsExpression() bool {
	return q.DatasourceUID == ExprDatasourceUID || q.DatasourceUID == ExprDatasourceLegacyUID
}

// Querier runs a QueryData request against the data source with UID dsUID
// (the plugin host fills the request's PluginContext).
type Querier interface {
	QueryData(ctx context.Context, dsUID string, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error)
}
