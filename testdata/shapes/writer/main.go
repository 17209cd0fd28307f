// Command writer writes a pair of real Go heap profiles in one shape:
// OUT/before.pb.gz after the first half of the leaves and OUT/after.pb.gz
// after all of them. runtime.MemProfileRate is 1, so every allocation is
// recorded. The runtime keeps one record per distinct stack and object size,
// and each record becomes one sample.
//
// The package builds only after `go run ./gensrc` has written wide_gen.go and
// shallow_gen.go into this directory, because wideRoot and shallowRoot are
// defined there. testdata/shapes.sh runs both steps.
//
// Shapes:
//
//	wide      2^17 leaves, 2 allocations each, about 131,000 locations
//	shallow   2^18 leaves, 1 allocation each, stacks of 4 frames
//	deep      2^17 leaves, 2 allocations each, stacks of 119 frames at -pad 80
//	shuffled  2^17 leaves, 2 allocations each, stacks of 39 frames, with the
//	          leaves visited in a scattered order
//
// Usage: writer -shape SHAPE -out DIR [-pad FRAMES]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// leafRecord is the 32-byte object retained for every leaf.
type leafRecord struct {
	Path uint64
	Site uint64
	Pad  [16]byte
}

// transientRecord is allocated at every leaf of the two-allocation shapes and
// stays reachable only until the next leaf replaces it in lastTransient.
type transientRecord struct {
	Path uint64
	Pad  [24]byte
}

var (
	retained      []*leafRecord
	lastTransient *transientRecord
)

// branchDepth is the number of binary choices in the deep and shuffled
// shapes, which gives 2^17 leaves.
const branchDepth = 17

func main() {
	// Set before any allocation that the profiles should record.
	runtime.MemProfileRate = 1

	shape := flag.String("shape", "", "shape to write: wide, shallow, deep or shuffled")
	out := flag.String("out", "", "output directory for before.pb.gz and after.pb.gz")
	// NOTE: The runtime truncates stacks to 128 frames unless
	// GODEBUG=profstackdepth raises the limit, up to 1024 (runtime/extern.go
	// in go1.27.3). -pad 80 gives 119 frames and fits. The largest -pad that
	// fits the default limit was not measured.
	pad := flag.Int("pad", 80, "deep shape: frames of plain recursion between the last binary choice "+
		"and the allocation, so stacks have 39 + pad frames")
	flag.Parse()

	if *out == "" {
		fmt.Fprintln(os.Stderr, "writer: missing -out; pass the output directory")
		os.Exit(2)
	}
	if *pad < 0 {
		fmt.Fprintf(os.Stderr, "writer: invalid -pad %d; pass 0 or more frames\n", *pad)
		os.Exit(2)
	}

	var err error
	switch *shape {
	case "wide":
		err = writePair(*out, 1<<17, identity, wideRoot)
	case "shallow":
		err = writePair(*out, 1<<18, identity, shallowRoot)
	case "deep":
		padFrames := *pad
		err = writePair(*out, 1<<branchDepth, identity, func(n uint32) {
			branch(n, branchDepth-1, padFrames)
		})
	case "shuffled":
		err = writePair(*out, 1<<branchDepth, scatter(1<<branchDepth), func(n uint32) {
			branch(n, branchDepth-1, 0)
		})
	default:
		fmt.Fprintf(os.Stderr, "writer: invalid -shape %q; use wide, shallow, deep or shuffled\n", *shape)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "writer: %v\n", err)
		os.Exit(1)
	}
}

func identity(i uint32) uint32 { return i }

// scatter returns a bijection on [0, leaves) for a power-of-two leaves. It
// multiplies by an odd constant modulo leaves, so consecutive indexes map to
// leaves far apart, and consecutive stacks usually share only a few outermost
// frames.
func scatter(leaves uint32) func(uint32) uint32 {
	mask := leaves - 1
	return func(i uint32) uint32 {
		return (i * 0x9E3779B1) & mask
	}
}

// writePair visits the leaves order(0) .. order(leaves-1) and writes
// before.pb.gz into outDir after the first half of them and after.pb.gz after
// all of them.
func writePair(outDir string, leaves uint32, order func(uint32) uint32, visit func(uint32)) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", outDir, err)
	}
	retained = make([]*leafRecord, leaves)

	// The first profile that a process writes allocates long-lived tables,
	// such as the CRC-32 table of compress/gzip. Writing one here keeps them
	// out of the growth between the two files.
	if err := pprof.Lookup("heap").WriteTo(io.Discard, 0); err != nil {
		return fmt.Errorf("write warm-up heap profile: %w", err)
	}

	half := leaves / 2
	visitRange(0, half, order, visit)
	if err := writeSnapshot(filepath.Join(outDir, "before.pb.gz")); err != nil {
		return err
	}
	visitRange(half, leaves, order, visit)
	if err := writeSnapshot(filepath.Join(outDir, "after.pb.gz")); err != nil {
		return err
	}

	runtime.KeepAlive(retained)
	return nil
}

// visitRange visits order(start) .. order(end-1) in a new goroutine and waits
// for it, so every stack starts at that goroutine's function and not at
// main.main.
func visitRange(start, end uint32, order func(uint32) uint32, visit func(uint32)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := start; i < end; i++ {
			visit(order(i))
		}
	}()
	<-done
}

// writeSnapshot runs two garbage collections and writes the heap profile to
// path. A heap profile may be up to two collections old (runtime.MemProfile),
// so the two collections make it include every allocation made before them.
func writeSnapshot(path string) error {
	runtime.GC()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("write heap profile to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
