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

// maxBigStacksDepth bounds -depth. The runtime keeps one profile bucket of a
// few hundred bytes per stack, so depth 20 already needs about 2^21 buckets.
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
	kept := make([]*leafRecord, leaves)
	if err := warmUpProfileWriter(); err != nil {
		return err
	}

	for path := range half {
		descend(kept, uint64(path), depth)
	}
	if err := writeSnapshot(outDir, half, false); err != nil {
		return err
	}
	slog.Info("wrote snapshot", "variant", bigStacksVariant, "leaves", half, "dir", outDir)

	for path := half; path < leaves; path++ {
		descend(kept, uint64(path), depth)
	}
	if err := writeSnapshot(outDir, leaves, false); err != nil {
		return err
	}
	slog.Info("wrote snapshot", "variant", bigStacksVariant, "leaves", leaves, "dir", outDir)

	runtime.KeepAlive(kept)
	return nil
}

// descend recurses level more times, choosing at each level between two
// functions by the next bit of path, and allocates at the bottom.
//
//go:noinline
func descend(kept []*leafRecord, path uint64, level int) {
	if level == 0 {
		allocateLeaf(kept, path)
		return
	}
	if path>>(level-1)&1 == 0 {
		descendZero(kept, path, level-1)
	} else {
		descendOne(kept, path, level-1)
	}
}

//go:noinline
func descendZero(kept []*leafRecord, path uint64, level int) {
	descend(kept, path, level)
}

//go:noinline
func descendOne(kept []*leafRecord, path uint64, level int) {
	descend(kept, path, level)
}

//go:noinline
func allocateLeaf(kept []*leafRecord, path uint64) {
	kept[path] = &leafRecord{Path: path}
	lastTransient = &transientRecord{Path: path}
}
