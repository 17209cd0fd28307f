package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
)

// The bigstacks variant builds profiles with very many distinct call stacks
// for speed tests. Leaf number n is reached by a recursion of depth levels
// whose path follows the bits of n, so every leaf has its own stack.
const bigStacksVariant = "bigstacks"

// maxBigStacksDepth bounds -depth. The runtime keeps one profile record per
// stack and object size. Depth 17 (2^18 records) ran in 168 MB maximum RSS,
// so depth 20 needs an estimated 1.3 GB.
const maxBigStacksDepth = 20

// leafRecord is a 32-byte object that is retained for every leaf.
type leafRecord struct {
	Path uint64
	Next *leafRecord
	Pad  [16]byte
}

// transientRecord is allocated at every leaf and stays reachable only until
// the next leaf replaces it in lastTransient.
type transientRecord struct {
	Path uint64
	Pad  [24]byte
}

var lastTransient *transientRecord

// writeBigStacks walks all 2^depth leaves and writes two heap profiles: one
// after the first half of the leaves and one after all of them. Each leaf
// allocates at two sites, so the profiles contain about 2^depth and
// 2^(depth+1) samples.
func writeBigStacks(outDir string, depth int) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	leaves := 1 << depth
	half := leaves / 2
	retained := make([]*leafRecord, leaves)

	// Log once before the first snapshot, as runBatches does, so that the
	// time zone that the first log line loads is not counted as growth.
	slog.Info("bigstacks run started", "depth", depth, "leaves", leaves, "dir", outDir)
	if err := warmUpProfileWriter(); err != nil {
		return err
	}

	for path := range half {
		descend(retained, uint64(path), depth)
	}
	if err := writeSnapshot(outDir, half, false); err != nil {
		return err
	}
	slog.Info("wrote snapshot", "variant", bigStacksVariant, "leaves", half, "dir", outDir)

	for path := half; path < leaves; path++ {
		descend(retained, uint64(path), depth)
	}
	if err := writeSnapshot(outDir, leaves, false); err != nil {
		return err
	}
	slog.Info("wrote snapshot", "variant", bigStacksVariant, "leaves", leaves, "dir", outDir)

	runtime.KeepAlive(retained)
	return nil
}

// descend recurses level more times, choosing at each level between two
// functions by the next bit of path, and allocates at the bottom.
//
//go:noinline
func descend(retained []*leafRecord, path uint64, level int) {
	if level == 0 {
		allocateLeaf(retained, path)
		return
	}
	if path>>(level-1)&1 == 0 {
		descendZero(retained, path, level-1)
	} else {
		descendOne(retained, path, level-1)
	}
}

//go:noinline
func descendZero(retained []*leafRecord, path uint64, level int) {
	descend(retained, path, level)
}

//go:noinline
func descendOne(retained []*leafRecord, path uint64, level int) {
	descend(retained, path, level)
}

//go:noinline
func allocateLeaf(retained []*leafRecord, path uint64) {
	retained[path] = &leafRecord{Path: path}
	lastTransient = &transientRecord{Path: path}
}
