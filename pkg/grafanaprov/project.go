package grafanaprov

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadDashboardProviders reads a dashboard provider file, expanding
// $VARIABLES with env (every value, as Grafana does), and checks it.
func LoadDashboardProviders(path string, env func(string) string) (*DashboardProvidersFile, error) {
	f := &DashboardProvidersFile{Path: path}
	if err := decodeFile(path, env, true, f); err != nil {
		return nil, err
	}
	c := &errs{file: path}
	if f.APIVersion != 1 {
		c.add("apiVersion", 0, "must be 1, got %d", f.APIVersion)
	}
	names := map[string]bool{}
	for i, p := range f.Providers {
		pp := fmt.Sprintf("providers[%d]", i)
		switch {
		case p.Name == "":
			c.add(pp+".name", p.Line, "is required")
		case names[p.Name]:
			c.add(pp+".name", p.Line, "%q is used by another provider", p.Name)
		}
		names[p.Name] = true
		if p.Type != "" && p.Type != "file" { // empty defaults to file
			c.add(pp+".type", p.Line, "must be file, got %q", p.Type)
		}
		if p.Options.FoldersFromFilesStructure && (p.Folder != "" || p.FolderUID != "") {
			c.add(pp+".options.foldersFromFilesStructure", p.Line, "needs folder and folderUid empty")
		}
		if p.FolderUID != "" && !uidRe.MatchString(p.FolderUID) {
			c.add(pp+".folderUid", p.Line, "%q must be 1 to 40 letters, digits, '-' or '_'", p.FolderUID)
		}
		if p.UpdateIntervalSeconds < 0 {
			c.add(pp+".updateIntervalSeconds", p.Line, "must not be negative")
		}
		if p.Options.Path == "" {
			c.add(pp+".options.path", p.Line, "is required (empty after expanding the environment?)")
		} else if st, err := os.Stat(p.Options.Path); err != nil || !st.IsDir() {
			c.add(pp+".options.path", p.Line, "is not a readable directory")
		}
	}
	return f, c.err()
}

// Project is every provisioning file of a Grafana provisioning directory and
// the dashboards its providers load.
type Project struct {
	Datasources        []*DatasourcesFile
	DashboardProviders []*DashboardProvidersFile
	Alerting           []*AlertingFile
	Dashboards         []*Dashboard
}

// LoadProject loads and checks provisioningDir/{datasources,dashboards,alerting}
// (.yaml, .yml, .json) with env, the dashboards from each file provider's
// options.path, and the references between them. The error lists every
// problem found, each naming its file and field.
func LoadProject(provisioningDir string, env func(string) string) (*Project, error) {
	p := &Project{}
	var all Errors
	collect := func(err error) {
		var es Errors
		switch {
		case err == nil:
		case errors.As(err, &es):
			all = append(all, es...)
		default:
			all = append(all, &Error{File: provisioningDir, Reason: err.Error()})
		}
	}
	for _, path := range configFiles(filepath.Join(provisioningDir, "datasources"), collect) {
		f, err := LoadDatasources(path, env)
		collect(err)
		if f != nil {
			p.Datasources = append(p.Datasources, f)
		}
	}
	for _, path := range configFiles(filepath.Join(provisioningDir, "dashboards"), collect) {
		f, err := LoadDashboardProviders(path, env)
		collect(err)
		if f != nil {
			p.DashboardProviders = append(p.DashboardProviders, f)
		}
	}
	for _, path := range configFiles(filepath.Join(provisioningDir, "alerting"), collect) {
		f, err := LoadAlerting(path, env)
		collect(err)
		if f != nil {
			p.Alerting = append(p.Alerting, f)
		}
	}
	collect(CheckAlerting(p.Alerting, p.Datasources))
	for _, pf := range p.DashboardProviders {
		for _, prov := range pf.Providers {
			if prov.Options.Path == "" {
				continue
			}
			for _, path := range dashboardFiles(prov.Options.Path, collect) {
				d, err := LoadDashboard(path)
				collect(err)
				if d == nil {
					continue
				}
				collect(CheckDashboard(d, p.Datasources))
				collect(p.checkDashboardQueries(d))
				p.Dashboards = append(p.Dashboards, d)
			}
		}
	}
	uids := map[string]string{}
	for _, d := range p.Dashboards {
		if other, dup := uids[d.UID]; dup {
			all = append(all, &Error{File: d.Path, Path: "uid", Reason: fmt.Sprintf("%q is also the uid of %s", d.UID, other)})
		}
		uids[d.UID] = d.Path
	}
	if len(all) > 0 {
		return p, all
	}
	return p, nil
}

// checkDashboardQueries runs Vigil's query parsing on every panel and
// annotation query of d, variables expanded, over the dashboard's default range length.
func (p *Project) checkDashboardQueries(d *Dashboard) error {
	qs, err := DashboardQueries(d)
	if err != nil {
		return err
	}
	c := &errs{file: d.Path}
	for _, q := range qs {
		ds, ok := p.Datasource(q.Datasource.UID)
		if !ok || !settingsOK(ds) {
			continue // CheckDashboard or the data source file's check names it
		}
		where := fmt.Sprintf("panel %d (%s) target %s", q.PanelID, q.PanelTitle, q.RefID)
		if q.Annotation {
			where = fmt.Sprintf("annotation %q", q.AnnotationName)
		}
		qt, _ := q.Model["queryType"].(string)
		if err := CheckVigilQuery(ds, q.RefID, qt, q.Model, 0); err != nil {
			c.add(where, 0, "Vigil refuses the query: %v", err)
		}
	}
	return c.err()
}

// Queries lists every panel and annotation query of the project's dashboards.
func (p *Project) Queries() ([]PanelQuery, error) {
	var out []PanelQuery
	for _, d := range p.Dashboards {
		qs, err := DashboardQueries(d)
		if err != nil {
			return nil, err
		}
		out = append(out, qs...)
	}
	return out, nil
}

// Datasource returns the provisioned data source with this uid (org 1).
func (p *Project) Datasource(uid string) (Datasource, bool) {
	for _, f := range p.Datasources {
		for _, ds := range f.Datasources {
			if ds.UID == uid && orgOr1(ds.OrgID) == 1 {
				return ds, true
			}
		}
	}
	return Datasource{}, false
}

// configFiles lists a provisioning folder's files in name order, as Grafana reads them.
func configFiles(dir string, collect func(error)) []string {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		collect(err)
		return nil
	}
	var out []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// dashboardFiles lists the *.json files under a provider's path, subfolders included.
func dashboardFiles(dir string, collect func(error)) []string {
	var out []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.EqualFold(filepath.Ext(path), ".json") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		collect(err)
	}
	sort.Strings(out)
	return out
}

// GroupedRule is an alert rule with the file and group that hold it (the
// group's interval is how often Grafana evaluates the rule).
type GroupedRule struct {
	File     string
	OrgID    int64
	Folder   string
	Group    string
	Interval string
	Rule     Rule
}

// Rules lists every provisioned alert rule, in file order.
func (p *Project) Rules() []GroupedRule {
	var out []GroupedRule
	for _, f := range p.Alerting {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				out = append(out, GroupedRule{File: f.Path, OrgID: orgOr1(g.OrgID), Folder: g.Folder, Group: g.Name, Interval: g.Interval, Rule: r})
			}
		}
	}
	return out
}

// RootContactPoint is the contact point the org's root notification policy
// sends to (Vigil's provisioning routes everything there).
func (p *Project) RootContactPoint(orgID int64) (ContactPoint, error) {
	var receiver string
	for _, f := range p.Alerting {
		for _, pol := range f.Policies {
			if pol.OrgID == orgID || (pol.OrgID == 0 && orgID == 1) {
				receiver = pol.Receiver
			}
		}
	}
	if receiver == "" {
		return ContactPoint{}, fmt.Errorf("no notification policy for org %d", orgID)
	}
	for _, f := range p.Alerting {
		for _, cp := range f.ContactPoints {
			if cp.Name == receiver {
				return cp, nil
			}
		}
	}
	return ContactPoint{}, fmt.Errorf("the root policy's contact point %q is not provisioned", receiver)
}
