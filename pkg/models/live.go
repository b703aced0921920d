package models

import (
	"encoding/json"
	"fmt"
	"strings"

	vigil "github.com/vigil/vigil-anomaly-datasource"
)

// LiveChannel is the Live channel path of a subscription (under ds/<uid>/):
// <queryType>/<label>/<hash>. Grafana runs one stream per path for all its
// viewers, so the path carries the whole query identity: hash is
// IdentityHash (SHA-256, 128 bits) of the canonical JSON of data's identity
// keys (src/validation.json; src/validation.ts computes the same path).
// label, the field (ttest, kafka, anomaly) or the measurement (power) in the
// characters Grafana allows in a path, is only for people reading it.
func LiveChannel(queryType QueryType, data json.RawMessage) (string, error) {
	var all map[string]any
	if err := json.Unmarshal(data, &all); err != nil {
		return "", &QueryError{"query", "is not a JSON object: " + err.Error()}
	}
	if qt, ok := all["queryType"]; ok && qt != string(queryType) {
		return "", &QueryError{"queryType", fmt.Sprintf("%v is not the channel's query type %q", qt, queryType)}
	}
	identity := map[string]any{}
	for _, k := range vigil.Rule.LiveChannel.Identity {
		if v, ok := all[k]; ok {
			identity[k] = v
		}
	}
	canon, err := CanonicalJSON(identity)
	if err != nil {
		return "", &QueryError{"query", err.Error()}
	}

	label, _ := all["measurement"].(string)
	if queryType == QueryTypeTTest || queryType == QueryTypeKafka || queryType == QueryTypeAnomaly {
		label = ""
		if fields, _ := all["fields"].([]any); len(fields) > 0 {
			label, _ = fields[0].(string)
		}
	}
	return fmt.Sprintf("%s/%s/%s", queryType, channelLabel(label), IdentityHash(canon)), nil
}

// channelLabel keeps the characters Grafana allows in a channel path and
// replaces the others with _, up to LabelMax of them.
func channelLabel(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == vigil.Rule.LiveChannel.LabelMax {
			break
		}
		if r == '_' || r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		n++
	}
	if n == 0 {
		return "_"
	}
	return b.String()
}
