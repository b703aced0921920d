package devenv

// DatasourceUID is the uid of the data source in provisioning/datasources/vigil.yaml.
const DatasourceUID = "vigil"

// ProvisioningEnv is the environment that provisioning/ files expand: where
// InfluxDB is, its token, the default bucket, where the webhook contact
// point posts, and the Kafka brokers ("" for none). StartGrafana adds
// VIGIL_GRAFANA_URL and VIGIL_RECEIVER_TOKEN.
func ProvisioningEnv(i *InfluxDB, defaultBucket, webhookURL, kafkaBrokers string) []string {
	return []string{
		"VIGIL_INFLUXDB_URL=" + i.URL,
		"VIGIL_INFLUXDB_TOKEN=" + i.Token(),
		"VIGIL_DEFAULT_BUCKET=" + defaultBucket,
		"VIGIL_WEBHOOK_URL=" + webhookURL,
		"VIGIL_ALERT_EMAIL=alerts@vigil.invalid",
		"VIGIL_KAFKA_BROKERS=" + kafkaBrokers,
	}
}

// receiverTokenPlaceholder stands in for the service-account token until
// Grafana is up and can issue one.
const receiverTokenPlaceholder = "vigil-receiver-token-not-issued-yet"
