package models

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"strings"
	"testing"
)

func TestCanonicalJSON(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{map[string]any{"b": 1.0, "a": []any{"x", nil, true}}, `{"a":["x",null,true],"b":1}`},
		// Typed values as a parsed query has them; nil slices and maps are empty.
		{map[string]any{"fields": []string(nil), "tags": map[string]string(nil), "window": int64(300e9), "history": 3600}, `{"fields":[],"history":3600,"tags":{},"window":300000000000}`},
		{map[string]string{"a=b": "c"}, `{"a=b":"c"}`},
		{map[string]string{"a": "b=c"}, `{"a":"b=c"}`},
		// No HTML escaping (JSON.stringify has none); U+2028 escaped as src/validation.ts does.
		{"<&>\u2028\x00\"\\", `"<&>\u2028\u0000\"\\"`},
		// Code point order: U+FB00 (3 UTF-8 bytes) before U+1F600 (4), as Array.from sorts.
		{map[string]any{"😀": 1.0, "ﬀ": 2.0, "z": 3.0}, `{"z":3,"ﬀ":2,"😀":1}`},
		{[]any{1e21, 1e-7, 0.001, math.Copysign(0, -1)}, `[1e+21,1e-7,0.001,0]`},
	} {
		got, err := CanonicalJSON(c.in)
		if err != nil || string(got) != c.want {
			t.Errorf("%#v: %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	// Refused rather than written alike: invalid UTF-8 (encoding/json writes
	// U+FFFD for any invalid byte), numbers JSON has not, unknown types.
	for _, in := range []any{"\xff", map[string]string{"\xfe": "a"}, math.NaN(), math.Inf(1), struct{}{}, []int{1}} {
		if got, err := CanonicalJSON(in); err == nil {
			t.Errorf("%#v: %s, want an error", in, got)
		}
	}
}

func TestIdentityHash(t *testing.T) {
	// SHA-256("abc") (FIPS 180-2, appendix B.1), its first 128 bits.
	if got := IdentityHash([]byte("abc")); got != "ba7816bf8f01cfea414140de5dae2223" {
		t.Errorf("SHA-256 of abc: %s", got)
	}
}

// The channel's hash covers the canonical identity and nothing else.
func TestLiveChannelHashesCanonicalIdentity(t *testing.T) {
	data := `{"refId":"A","tags":{"a=b":"c"},"fields":["f"],"measurement":"m","live":true}`
	path, err := LiveChannel(QueryTypeTTest, json.RawMessage(data))
	if err != nil {
		t.Fatal(err)
	}
	canon, _ := CanonicalJSON(map[string]any{"measurement": "m", "fields": []any{"f"}, "tags": map[string]any{"a=b": "c"}})
	if want := "ttest/f/" + IdentityHash(canon); path != want {
		t.Errorf("%s: %s, want %s", data, path, want)
	}
	if _, err := LiveChannel(QueryTypeTTest, json.RawMessage(`{"alpha":1e999}`)); err == nil {
		t.Error("a number beyond float64 was given a channel")
	}
}

// TestLiveChannelNotForged: two printers whose queries had one channel under
// FNV-1a 64, the hash before SHA-256 (a pair found by a collision search of
// about 2^31.4 FNV evaluations, minutes on one core), have two now. A viewer
// could have made the second query to run the first one's channel.
func TestLiveChannelNotForged(t *testing.T) {
	var paths []string
	for _, printer := range []string{"7bd3df2575175554", "f6b617dcfb367733"} {
		data := map[string]any{"measurement": "m", "fields": []any{"f"}, "tags": map[string]any{"printer": printer}}
		canon, _ := CanonicalJSON(data)
		h := fnv.New64a()
		h.Write(canon)
		if got := h.Sum64(); got != 0xdd2c59f36b03b310 {
			t.Fatalf("%s: FNV-1a 64 %016x, not the colliding dd2c59f36b03b310", canon, got)
		}
		raw, _ := json.Marshal(data)
		path, err := LiveChannel(QueryTypeTTest, raw)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	if paths[0] == paths[1] {
		t.Errorf("two printers share the channel %s", paths[0])
	}
}

// An anomaly query's cache identity changes with every setting its detector
// reads, and only with those; its Live channel changes with every setting given.
func TestAnomalyIdentity(t *testing.T) {
	identity := func(js string) string {
		t.Helper()
		q, err := ParseQuery(dataQuery("anomaly", `{"measurement":"m","fields":["f"],`+js+`}`), testSettings)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		canon, err := CanonicalJSON(q.Anomaly.Identity())
		if err != nil {
			t.Fatal(err)
		}
		return string(canon)
	}
	channel := func(js string) string {
		t.Helper()
		path, err := LiveChannel(QueryTypeAnomaly, json.RawMessage(`{"measurement":"m","fields":["f"],`+js+`}`))
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	base := `"detector":"zscore","threshold":3`
	for _, other := range []string{
		`"detector":"mad","threshold":3`,
		`"detector":"zscore","threshold":3.5`,
		`"detector":"zscore","threshold":3,"minDeviation":1`,
		`"detector":"zscore","threshold":3,"direction":"above"`,
	} {
		if identity(base) == identity(other) {
			t.Errorf("%s and %s share the cache identity %s", base, other, identity(base))
		}
		if channel(base) == channel(other) {
			t.Errorf("%s and %s share the channel %s", base, other, channel(base))
		}
	}
	for _, pair := range [][2]string{
		// The default threshold written out, a setting zscore does not read,
		// the output (read from the same verdicts), a season in other units.
		{`"detector":"zscore"`, base},
		{base, base + `,"season":"1w","seasons":9,"hwAlpha":0.5`},
		{base, base + `,"output":"band"`},
		{`"detector":"seasonal","season":"1d"`, `"detector":"seasonal","season":"24h"`},
	} {
		if identity(pair[0]) != identity(pair[1]) {
			t.Errorf("%s and %s: cache identities %s and %s", pair[0], pair[1], identity(pair[0]), identity(pair[1]))
		}
	}
	for _, pair := range [][2]string{
		{`"detector":"seasonal","season":"1d","seasons":4`, `"detector":"seasonal","season":"1w","seasons":4`},
		{`"detector":"seasonal","seasons":4`, `"detector":"seasonal","seasons":5`},
		{`"detector":"holtwinters","hwAlpha":0.5,"hwBeta":0.1,"hwGamma":0.1`, `"detector":"holtwinters","hwAlpha":0.1,"hwBeta":0.5,"hwGamma":0.1`},
	} {
		if identity(pair[0]) == identity(pair[1]) {
			t.Errorf("%s and %s share the cache identity %s", pair[0], pair[1], identity(pair[0]))
		}
	}
	if got := channel(base); !strings.HasPrefix(got, "anomaly/f/") {
		t.Errorf("channel %s, want anomaly/f/<hash>", got)
	}
}
