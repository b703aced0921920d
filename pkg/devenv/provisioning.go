package devenv

// DatasourceUID is the uid of the data source in provisioning/datasources/vigil.yaml.
const DatasourceUID = "vigil"

// ProvisioningEnv is the environment that provisioning/ files expand: where
// InfluxDB is, its token and the default bucket.
func ProvisioningEnv(i *InfluxDB, defaultBucket string) []string {
	return []string{
		"VIGIL_INFLUXDB_URL=" + i.URL,
		"VIGIL_INFLUXDB_TOKEN=" + i.Token(),
		"VIGIL_DEFAULT_BUCKET=" + defaultBucket,
	}
}
