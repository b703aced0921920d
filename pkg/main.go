// Command gpx_vigil is the Vigil backend plugin that Grafana starts.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/plugin"
)

func main() {
	if err := datasource.Manage(vigil.Plugin.ID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("vigil stopped", "error", err)
		os.Exit(1)
	}
}
