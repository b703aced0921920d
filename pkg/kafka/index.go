package kafka

import (
	"fmt"
	"sort"
	"sync"
)

// indexBlock is how many offsets one index entry covers.
const indexBlock = 1024

// noPoint is a block's newest time when it holds no selected point.
const noPoint = -1 << 63

// Index remembers, per selection (topic, format, measurement, tags,
// fields, paths) and partition, the newest selected point time of each
// block of indexBlock offsets already read, so that a later query can start
// a partition at the first block that may hold a point it needs. Offsets
// never change what they hold (retention and compaction only remove
// messages), so skipping a block whose newest point is older than the
// query needs is safe whatever the messages' own timestamps say, which are
// never used. A partition whose end offset went back (the topic was
// recreated) forgets its blocks; blocks wholly below a partition's start
// offset (removed by retention) are dropped, so that the index holds only
// what the topic retains.
type Index struct {
	mu  sync.Mutex
	sel map[string]map[int32]*partitionIndex
}

type partitionIndex struct {
	// newest[b] is block b's newest point time (block b holds offsets
	// [b*indexBlock, (b+1)*indexBlock)); only blocks read to their end.
	newest map[int64]int64
	end    int64 // the end offset at the last read
	first  int64 // no block below first is kept
}

// maxSelections bounds the index: beyond it, it starts over.
const maxSelections = 256

// seek is where a read of partition p, holding [start, end), may begin for
// points at or after lo.
func (ix *Index) seek(key string, p int32, start, end, lo int64) int64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	pi := ix.sel[key][p]
	if pi == nil {
		return start
	}
	if end < pi.end {
		delete(ix.sel[key], p) // recreated: its offsets hold other messages
		return start
	}
	pi.prune(start / indexBlock)
	b := start / indexBlock
	for {
		t, ok := pi.newest[b]
		if !ok || t >= lo {
			return max(start, b*indexBlock)
		}
		b++
	}
}

// prune drops the blocks below first: retention removed their messages.
func (pi *partitionIndex) prune(first int64) {
	if first <= pi.first {
		return
	}
	if first-pi.first > int64(len(pi.newest)) {
		for b := range pi.newest {
			if b < first {
				delete(pi.newest, b)
			}
		}
	} else {
		for b := pi.first; b < first; b++ {
			delete(pi.newest, b)
		}
	}
	pi.first = first
}

// blocks collects the newest point time per block during one read of a partition.
type blocks map[int64]int64

func (bs blocks) add(offset, t int64) {
	b := offset / indexBlock
	if cur, ok := bs[b]; !ok || t > cur {
		bs[b] = t
	}
}

// record keeps a partition read from seek to end: every block from seek's
// up to the one holding end-1 (unless end closes it) was read to its end.
func (ix *Index) record(key string, p int32, seek, end int64, read blocks) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.sel == nil || len(ix.sel) >= maxSelections && ix.sel[key] == nil {
		ix.sel = map[string]map[int32]*partitionIndex{}
	}
	if ix.sel[key] == nil {
		ix.sel[key] = map[int32]*partitionIndex{}
	}
	pi := ix.sel[key][p]
	if pi == nil {
		pi = &partitionIndex{newest: map[int64]int64{}}
		ix.sel[key][p] = pi
	}
	pi.end = end
	// A concurrent read may have pruned past this one's seek meanwhile.
	for b := max(seek/indexBlock, pi.first); b < end/indexBlock; b++ {
		t, ok := read[b]
		if !ok {
			t = noPoint
		}
		pi.newest[b] = t
	}
}

// selectionKey identifies what a decoder selects.
func selectionKey(d *Decoder, topic string) string {
	return fmt.Sprintf("%q %q %q %q %q %q %q %v", topic, d.format, d.measurement, d.fields, d.timePath, d.keyPath, d.keyLabel, sortedTags(d.filter))
}

func sortedTags(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%q=%q", k, v))
	}
	sort.Strings(out)
	return out
}
