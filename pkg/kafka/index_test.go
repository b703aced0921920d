package kafka

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// blocksOf lists the blocks the index holds for one partition.
func (ix *Index) blocksOf(key string, p int32) []int64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var out []int64
	if pi := ix.sel[key][p]; pi != nil {
		for b := range pi.newest {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out
}

func TestIndexPrune(t *testing.T) {
	tests := []struct {
		name  string
		start int64 // the partition's start offset at the next seek
		want  []int64
	}{
		{"nothing removed", 0, []int64{0, 1, 2, 3, 4}},
		{"inside the first block: kept", 1000, []int64{0, 1, 2, 3, 4}},
		{"two blocks removed", 2 * indexBlock, []int64{2, 3, 4}},
		{"into the third block", 2*indexBlock + 7, []int64{2, 3, 4}},
		{"all removed", 5 * indexBlock, nil},
		{"far past the end (a map walk)", 1 << 40, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ix Index
			read := blocks{}
			for o := int64(0); o < 5*indexBlock; o++ {
				read.add(o, o)
			}
			ix.record("k", 0, 0, 5*indexBlock, read)
			end := max(5*indexBlock, tt.start)
			ix.seek("k", 0, tt.start, end, 0)
			if got := ix.blocksOf("k", 0); !slices.Equal(got, tt.want) {
				t.Fatalf("blocks %v, want %v", got, tt.want)
			}
			// A read that began before the prune does not bring them back.
			ix.record("k", 0, 0, end, read)
			if got := ix.blocksOf("k", 0); !slices.Equal(got, tt.want) {
				t.Fatalf("after a late record: blocks %v, want %v", got, tt.want)
			}
		})
	}
}

// TestIndexDropsRetainedOut: after retention removes a partition's oldest
// messages (DeleteRecords moves its start offset), the next query drops the
// index blocks below the new start, and still keeps exactly the points a
// full read keeps.
func TestIndexDropsRetainedOut(t *testing.T) {
	_, addr := cluster(t, 1, "ret")
	t0 := time.Unix(1_700_000_000, 0)
	var msgs []string
	for s := range 5000 {
		msgs = append(msgs, fmt.Sprintf("temperatures hotend=%d %d", s%13, t0.Add(time.Duration(s)*time.Second).UnixNano()))
	}
	produce(t, addr, "ret", msgs)
	c := client(t, addr)
	q := lineQuery(nil, "hotend")
	q.Kafka.Topic = "ret"
	key := selectionKey(NewDecoder(q), "ret")
	ctx := context.Background()
	from, to := t0, t0.Add(2*time.Hour)
	load := func() (int64, int64) {
		t.Helper()
		store, sum, err := c.Load(ctx, q, from, to, 1e6)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := store.SeriesCounts(ctx, influx.Selection{}, from, to)
		if len(got) != 1 || got[0].N != sum.Points {
			t.Fatalf("kept %+v, %+v", got, sum)
		}
		return sum.Points, sum.Messages
	}
	if points, _ := load(); points != 5000 {
		t.Fatalf("%d points", points)
	}
	if got := c.index.blocksOf(key, 0); !slices.Equal(got, []int64{0, 1, 2, 3}) {
		t.Fatalf("blocks after the first query: %v", got)
	}
	adm := kadm.NewClient(c.admin)
	to3000 := kadm.Offsets{}
	to3000.Add(kadm.Offset{Topic: "ret", Partition: 0, At: 3000})
	res, err := adm.DeleteRecords(ctx, to3000)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	points, read := load()
	if points != 2000 || read != 2000 {
		t.Fatalf("after retention: %d points from %d messages, want 2000", points, read)
	}
	if got := c.index.blocksOf(key, 0); !slices.Equal(got, []int64{2, 3}) {
		t.Fatalf("blocks after retention moved the start to 3000: %v, want [2 3]", got)
	}
}
