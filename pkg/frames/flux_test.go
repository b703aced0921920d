package frames

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// stream decodes an annotated-CSV file exactly as the client decodes InfluxDB's answer.
func stream(t *testing.T, name string) *api.QueryTableResult {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return api.NewQueryTableResult(io.NopCloser(f))
}

func TestFromFluxGolden(t *testing.T) {
	for _, name := range []string{"series", "table"} {
		t.Run(name, func(t *testing.T) {
			res := stream(t, name+".csv")
			defer res.Close()
			fr, err := FromFlux(res, 100)
			if err != nil {
				t.Fatal(err)
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", name, &backend.DataResponse{Frames: fr}, *update)
		})
	}
}

func TestFromFluxMaxPoints(t *testing.T) {
	for _, tt := range []struct {
		max     int64
		wantErr bool
	}{{6, false}, {5, true}, {1, true}} {
		res := stream(t, "series.csv")
		fr, err := FromFlux(res, tt.max)
		res.Close()
		var tooMany *models.TooManyPointsError
		if got := errors.As(err, &tooMany); got != tt.wantErr {
			t.Fatalf("max %d: err %v, want error %v", tt.max, err, tt.wantErr)
		}
		if tt.wantErr && (fr != nil || tooMany.MaxPoints != tt.max) {
			t.Fatalf("max %d: frames %v, error %v", tt.max, fr, tooMany)
		}
	}
}

func TestFromFluxEmpty(t *testing.T) {
	res := api.NewQueryTableResult(io.NopCloser(emptyReader{}))
	fr, err := FromFlux(res, 10)
	if err != nil || len(fr) != 0 {
		t.Fatalf("got %v, %v", fr, err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }
