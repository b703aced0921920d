package frames

import (
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/power"
)

// Power builds the power query's frame: time and float64 value (Wh).
func Power(out *power.Outcome) data.Frames {
	value := data.NewField("value", nil, out.Values)
	value.Config = &data.FieldConfig{Unit: "watth", DisplayNameFromDS: "Unmetered energy"}
	f := data.NewFrame("", data.NewField("Time", nil, out.Times), value)
	f.Meta = &data.FrameMeta{
		Type:                data.FrameTypeTimeSeriesMulti,
		TypeVersion:         data.FrameTypeVersion{0, 1},
		ExecutedQueryString: strings.Join(out.Statements, "\n\n"),
		Custom:              map[string]any{"aggregate": string(out.Aggregate), "interval": out.Every.String()},
	}
	return data.Frames{f}
}
