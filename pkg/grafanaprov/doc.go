// Package grafanaprov reads and checks Vigil's Grafana files without Grafana:
// the provisioning files (data sources, dashboard providers, alert rules,
// contact points, notification policies) and the dashboards they load.
//
// Sources of the formats:
//   - Data sources and dashboard providers: Grafana documentation "Provision
//     Grafana" (administration/provisioning), v10.x to v12.x pages, whose field
//     lists agree for what Vigil uses (prune is v11.1+).
//   - Alerting: "Use configuration files to provision alerting resources"
//     (alerting/set-up/provision-alerting-resources/file-provisioning),
//     Grafana v10.0 to v10.4 docs: field names, required fields, the allowed
//     noDataState/execErrState values, uids of at most 40 letters, digits, '-'
//     or '_', each contact point type's required settings.
//   - Environment expansion: "Provision Grafana" > "Use environment variables"
//     ($VAR, ${VAR}, $$ for a literal $), and for alerting the file-provisioning
//     page's "Template variable interpolation" section (v10.4+, grafana/grafana
//     pull request 84106) and pull request 54975 (9.1): rule annotations and
//     query models are not expanded, labels and contact point settings are.
//   - Dashboards: Grafana's published dashboard schema as generated Go types,
//     github.com/grafana/grafana-foundation-sdk/go v0.0.18 (Apache-2.0),
//     decoded with UnmarshalJSONStrict.
//
// Decoding is strict: an unknown key is an error naming the file, the line
// and the path of the field (groups[0].rules[1].colour). Checks then follow
// what Grafana requires, and Vigil's own validation (pkg/models) is run on
// the provisioned settings and on every query model, so a file Grafana would
// accept but Vigil would refuse fails here too. Error messages never contain
// expanded values of credentials.
package grafanaprov
