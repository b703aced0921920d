package grafanaprov

import "encoding/json"

// DatasourcesFile is a data source provisioning file (provisioning/datasources/*.yaml).
type DatasourcesFile struct {
	APIVersion        int64              `yaml:"apiVersion"`
	Datasources       []Datasource       `yaml:"datasources"`
	DeleteDatasources []DeleteDatasource `yaml:"deleteDatasources"`
	// Prune removes data sources provisioned earlier but missing from the file.
	Prune bool `yaml:"prune"`
	Path  string
}

// Datasource is one provisioned data source. Every value is expanded from the environment.
type Datasource struct {
	Name            string `yaml:"name"`
	Type            string `yaml:"type"`
	Access          string `yaml:"access"`
	OrgID           int64  `yaml:"orgId"`
	UID             string `yaml:"uid"`
	URL             string `yaml:"url"`
	User            string `yaml:"user"`
	Database        string `yaml:"database"`
	BasicAuth       bool   `yaml:"basicAuth"`
	BasicAuthUser   string `yaml:"basicAuthUser"`
	WithCredentials bool   `yaml:"withCredentials"`
	IsDefault       bool   `yaml:"isDefault"`
	// JSONData is the non-secret settings object the plugin receives.
	JSONData map[string]any `yaml:"jsonData"`
	// SecureJSONData is stored encrypted by Grafana; never log it.
	SecureJSONData map[string]string `yaml:"secureJsonData"`
	Version        int64             `yaml:"version"`
	Editable       bool              `yaml:"editable"`
	Correlations   []any             `yaml:"correlations"`
	Line           int
}

// DeleteDatasource names a data source to delete before provisioning.
type DeleteDatasource struct {
	Name  string `yaml:"name"`
	OrgID int64  `yaml:"orgId"`
	Line  int
}

// DashboardProvidersFile is a dashboard provider file (provisioning/dashboards/*.yaml).
type DashboardProvidersFile struct {
	APIVersion int64               `yaml:"apiVersion"`
	Providers  []DashboardProvider `yaml:"providers"`
	Path       string
}

// DashboardProvider loads dashboards from a folder of JSON files.
type DashboardProvider struct {
	Name                  string                   `yaml:"name"`
	OrgID                 int64                    `yaml:"orgId"`
	Type                  string                   `yaml:"type"`
	Folder                string                   `yaml:"folder"`
	FolderUID             string                   `yaml:"folderUid"`
	DisableDeletion       bool                     `yaml:"disableDeletion"`
	UpdateIntervalSeconds int64                    `yaml:"updateIntervalSeconds"`
	AllowUIUpdates        bool                     `yaml:"allowUiUpdates"`
	Options               DashboardProviderOptions `yaml:"options"`
	Line                  int
}

// DashboardProviderOptions are a file provider's options.
type DashboardProviderOptions struct {
	Path                      string `yaml:"path"`
	FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
}

// AlertingFile is an alerting provisioning file (provisioning/alerting/*.yaml).
// A file may hold any of the resource kinds.
type AlertingFile struct {
	APIVersion          int64          `yaml:"apiVersion"`
	Groups              []RuleGroup    `yaml:"groups"`
	DeleteRules         []DeleteByUID  `yaml:"deleteRules"`
	ContactPoints       []ContactPoint `yaml:"contactPoints"`
	DeleteContactPoints []DeleteByUID  `yaml:"deleteContactPoints"`
	Policies            []Policy       `yaml:"policies"`
	ResetPolicies       []int64        `yaml:"resetPolicies"`
	Templates           []Template     `yaml:"templates"`
	DeleteTemplates     []DeleteByName `yaml:"deleteTemplates"`
	MuteTimes           []MuteTime     `yaml:"muteTimes"`
	DeleteMuteTimes     []DeleteByName `yaml:"deleteMuteTimes"`
	Path                string
}

// RuleGroup is a folder's group of alert rules, evaluated together every Interval.
type RuleGroup struct {
	OrgID    int64  `yaml:"orgId"`
	Name     string `yaml:"name"`
	Folder   string `yaml:"folder"`
	Interval string `yaml:"interval"`
	Rules    []Rule `yaml:"rules"`
	Line     int
}

// Rule is one Grafana-managed alert rule.
type Rule struct {
	UID          string  `yaml:"uid"`
	Title        string  `yaml:"title"`
	Condition    string  `yaml:"condition"`
	Data         []Query `yaml:"data"`
	DashboardUID string  `yaml:"dashboardUid"`
	PanelID      int64   `yaml:"panelId"`
	NoDataState  string  `yaml:"noDataState"`
	ExecErrState string  `yaml:"execErrState"`
	For          string  `yaml:"for"`
	// Annotations are alert templates ({{ $values.B.Value }}): Grafana does not expand them.
	Annotations map[string]string `yaml:"annotations" prov:"raw"`
	Labels      map[string]string `yaml:"labels"`
	IsPaused    bool              `yaml:"isPaused"`
	Line        int
}

// Query is one query or expression of a rule.
type Query struct {
	RefID             string            `yaml:"refId"`
	QueryType         string            `yaml:"queryType"`
	DatasourceUID     string            `yaml:"datasourceUid"`
	RelativeTimeRange RelativeTimeRange `yaml:"relativeTimeRange"`
	// Model is sent to the data source as is (Grafana does not expand it: macros such as $__interval must survive).
	Model map[string]any `yaml:"model" prov:"raw"`
	Line  int
}

// RelativeTimeRange is seconds before the evaluation time: [now-From, now-To].
type RelativeTimeRange struct {
	From int64 `yaml:"from"`
	To   int64 `yaml:"to"`
}

// ContactPoint is a named set of receivers.
type ContactPoint struct {
	OrgID     int64      `yaml:"orgId"`
	Name      string     `yaml:"name"`
	Receivers []Receiver `yaml:"receivers"`
	Line      int
}

// Receiver is one integration (webhook, email, ...).
type Receiver struct {
	UID                   string         `yaml:"uid"`
	Type                  string         `yaml:"type"`
	Settings              map[string]any `yaml:"settings"`
	DisableResolveMessage bool           `yaml:"disableResolveMessage"`
	Line                  int
}

// Policy is an organization's notification policy tree (its root route).
type Policy struct {
	OrgID int64 `yaml:"orgId"`
	// Route is the root of the tree; its fields sit next to orgId in the file.
	Route `yaml:",inline" prov:"raw"`
}

// Route is a notification policy node. Grafana does not expand variables in policies.
type Route struct {
	Receiver            string     `yaml:"receiver"`
	GroupBy             []string   `yaml:"group_by"`
	Matchers            []string   `yaml:"matchers"`
	ObjectMatchers      [][]string `yaml:"object_matchers"`
	MuteTimeIntervals   []string   `yaml:"mute_time_intervals"`
	ActiveTimeIntervals []string   `yaml:"active_time_intervals"`
	Continue            bool       `yaml:"continue"`
	GroupWait           string     `yaml:"group_wait"`
	GroupInterval       string     `yaml:"group_interval"`
	RepeatInterval      string     `yaml:"repeat_interval"`
	Routes              []Route    `yaml:"routes"`
	Line                int
}

// Template is a notification template.
type Template struct {
	OrgID    int64  `yaml:"orgId"`
	Name     string `yaml:"name"`
	Template string `yaml:"template" prov:"raw"`
	Line     int
}

// MuteTime is a named set of time intervals (Alertmanager's time_interval shape).
type MuteTime struct {
	OrgID         int64  `yaml:"orgId"`
	Name          string `yaml:"name"`
	TimeIntervals []any  `yaml:"time_intervals" prov:"raw"`
	Line          int
}

// DeleteByUID names a rule or receiver to delete.
type DeleteByUID struct {
	OrgID int64  `yaml:"orgId"`
	UID   string `yaml:"uid"`
}

// DeleteByName names a template or mute timing to delete.
type DeleteByName struct {
	OrgID int64  `yaml:"orgId"`
	Name  string `yaml:"name"`
}

// ModelJSON is the query model as JSON, ready to send to a data source.
func (q Query) ModelJSON() json.RawMessage {
	b, _ := json.Marshal(q.Model)
	return b
}
