package grafanaprov

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// uidRe is Grafana's rule for data source, rule and receiver uids: at most 40
// letters, digits, '-' or '_'.
var uidRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

// vigilJSONData and vigilSecureJSONData are the keys the plugin reads
// (pkg/models.LoadSettings): any other key is a typo the plugin would ignore.
var (
	vigilJSONData       = models.JSONDataKeys()
	vigilSecureJSONData = models.SecureJSONDataKeys
)

// LoadDatasources reads a data source provisioning file, expanding $VARIABLES
// with env as Grafana does (every value of the file), and checks it.
func LoadDatasources(path string, env func(string) string) (*DatasourcesFile, error) {
	f := &DatasourcesFile{Path: path}
	if err := decodeFile(path, env, true, f); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return f, err
	}
	return f, nil
}

func (f *DatasourcesFile) check() error {
	c := &errs{file: f.Path}
	if f.APIVersion != 1 {
		c.add("apiVersion", 0, "must be 1, got %d", f.APIVersion)
	}
	names := map[string]bool{}
	uids := map[string]bool{}
	defaults := map[int64]string{}
	for i, ds := range f.Datasources {
		p := fmt.Sprintf("datasources[%d]", i)
		org := orgOr1(ds.OrgID)
		switch {
		case ds.Name == "":
			c.add(p+".name", ds.Line, "is required")
		case names[fmt.Sprint(org, ds.Name)]:
			c.add(p+".name", ds.Line, "%q is used by another data source of org %d", ds.Name, org)
		}
		names[fmt.Sprint(org, ds.Name)] = true
		if ds.UID != "" {
			if !uidRe.MatchString(ds.UID) {
				c.add(p+".uid", ds.Line, "%q must be 1 to 40 letters, digits, '-' or '_'", ds.UID)
			} else if uids[fmt.Sprint(org, ds.UID)] {
				c.add(p+".uid", ds.Line, "%q is used by another data source of org %d", ds.UID, org)
			}
			uids[fmt.Sprint(org, ds.UID)] = true
		}
		if ds.Type == "" {
			c.add(p+".type", ds.Line, "is required (the plugin id, e.g. %s)", vigil.Plugin.ID)
		}
		if ds.Access != "" && ds.Access != "proxy" && ds.Access != "direct" {
			c.add(p+".access", ds.Line, "must be proxy or direct, got %q", ds.Access)
		}
		if ds.IsDefault {
			if other, dup := defaults[org]; dup {
				c.add(p+".isDefault", ds.Line, "org %d already has a default data source (%q)", org, other)
			}
			defaults[org] = ds.Name
		}
		if ds.Type == vigil.Plugin.ID {
			checkVigilSettings(c, p, ds)
		}
	}
	for i, d := range f.DeleteDatasources {
		if d.Name == "" {
			c.add(fmt.Sprintf("deleteDatasources[%d].name", i), d.Line, "is required")
		}
	}
	return c.err()
}

// checkVigilSettings runs the plugin's own settings validation on the
// provisioned values, so a file Grafana would accept but Vigil would refuse
// ("Save & test" failing) is caught here.
func checkVigilSettings(c *errs, p string, ds Datasource) {
	for _, k := range sortedKeys(ds.JSONData) {
		if !contains(vigilJSONData, k) {
			c.add(p+".jsonData."+k, ds.Line, "is not a Vigil setting (known: %v)", vigilJSONData)
		}
	}
	for _, k := range sortedKeys(ds.SecureJSONData) {
		if !contains(vigilSecureJSONData, k) {
			c.add(p+".secureJsonData."+k, ds.Line, "is not a Vigil secret (known: %v)", vigilSecureJSONData)
		}
	}
	jd, err := json.Marshal(ds.JSONData)
	if err != nil {
		c.add(p+".jsonData", ds.Line, "cannot be written as JSON: %v", err)
		return
	}
	_, err = models.LoadSettings(backend.DataSourceInstanceSettings{
		UID:                     ds.UID,
		Name:                    ds.Name,
		URL:                     ds.URL,
		JSONData:                jd,
		DecryptedSecureJSONData: ds.SecureJSONData,
	})
	var se *models.SettingsError
	switch {
	case errors.As(err, &se):
		field := p + ".jsonData." + se.Setting
		switch {
		case se.Setting == "url":
			field = p + ".url"
		case contains(vigilSecureJSONData, se.Setting):
			field = p + ".secureJsonData." + se.Setting
		}
		c.add(field, ds.Line, "%s", se.Reason)
	case err != nil:
		c.add(p, ds.Line, "%v", err)
	}
}

func orgOr1(id int64) int64 {
	if id < 1 {
		return 1
	}
	return id
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// refTime is an arbitrary fixed evaluation time for checking query models:
// ParseQuery needs a time range, and the check must not depend on the clock.
var refTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// settingsOK reports whether the plugin accepts ds's settings; queries to a
// data source whose settings fail are not checked again (the data source
// file's error says it once).
func settingsOK(ds Datasource) bool {
	if ds.Type != vigil.Plugin.ID {
		return true
	}
	jd, err := json.Marshal(ds.JSONData)
	if err != nil {
		return false
	}
	_, err = models.LoadSettings(backend.DataSourceInstanceSettings{URL: ds.URL, JSONData: jd, DecryptedSecureJSONData: ds.SecureJSONData})
	return err == nil
}

// CheckVigilQuery runs Vigil's own query parsing (pkg/models.ParseQuery) on a
// query model sent to data source ds over a range of the given length; it
// returns nil for data sources of other types.
func CheckVigilQuery(ds Datasource, refID, queryType string, model map[string]any, span time.Duration) error {
	if ds.Type != vigil.Plugin.ID {
		return nil
	}
	jd, err := json.Marshal(ds.JSONData)
	if err != nil {
		return err
	}
	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{UID: ds.UID, URL: ds.URL, JSONData: jd, DecryptedSecureJSONData: ds.SecureJSONData})
	if err != nil {
		return fmt.Errorf("data source %q has invalid settings: %w", ds.UID, err)
	}
	body, err := json.Marshal(model)
	if err != nil {
		return err
	}
	if span <= 0 {
		span = time.Hour
	}
	_, err = models.ParseQuery(backend.DataQuery{
		RefID:         refID,
		QueryType:     queryType,
		JSON:          body,
		MaxDataPoints: 1000,
		Interval:      span / 1000,
		TimeRange:     backend.TimeRange{From: refTime.Add(-span), To: refTime},
	}, s)
	return err
}

// InstanceSettings is the provisioned data source as Grafana hands it to the
// plugin: jsonData as JSON, secureJsonData decrypted, id as Grafana's
// database assigned it.
func (d Datasource) InstanceSettings(id int64) (backend.DataSourceInstanceSettings, error) {
	jsonData, err := json.Marshal(d.JSONData)
	if err != nil {
		return backend.DataSourceInstanceSettings{}, fmt.Errorf("data source %s: jsonData: %w", d.UID, err)
	}
	return backend.DataSourceInstanceSettings{
		ID: id, UID: d.UID, Name: d.Name, Type: d.Type, URL: d.URL, User: d.User, Database: d.Database,
		BasicAuthEnabled: d.BasicAuth, BasicAuthUser: d.BasicAuthUser,
		JSONData: jsonData, DecryptedSecureJSONData: d.SecureJSONData,
	}, nil
}
