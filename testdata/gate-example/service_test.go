package gateexample

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
)

// milestones is the number of batches; a snapshot is written before the
// first batch and after each one.
const milestones = 6

// TestHeapSnapshots runs the service and writes heap-NNNNNN.pb.gz, where
// NNNNNN is the number of orders handled, for `pprof-chain gate`.
//
// Environment:
//
//	HEAP_SNAPSHOT_DIR  folder for the snapshots (default: a temporary folder
//	                   that is removed after the test)
//	GATE_EXAMPLE_LEAK  1 runs the leaky build
//	GATE_EXAMPLE_BATCH orders per batch (default: 1000 with
//	                   -test.memprofilerate=1, else 100000)
//
// With Go's default heap sampling (one sample per 512 KiB allocated, on
// average) a leak must reach tens of megabytes to span enough samples, so
// the default batch is larger then.
func TestHeapSnapshots(t *testing.T) {
	dir := os.Getenv("HEAP_SNAPSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	batch := 100_000
	if runtime.MemProfileRate == 1 {
		batch = 1_000
	}
	if text := os.Getenv("GATE_EXAMPLE_BATCH"); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 {
			t.Fatalf("GATE_EXAMPLE_BATCH=%q: want a whole number above 0", text)
		}
		batch = n
	}
	customers := make([]string, 97)
	for i := range customers {
		customers[i] = "customer-" + strconv.Itoa(i)
	}
	service := NewService(4, os.Getenv("GATE_EXAMPLE_LEAK") == "1")
	defer service.Close()

	// The first profile a process writes allocates long-lived tables, such
	// as the CRC-32 table of compress/gzip. Writing one now puts them in
	// every snapshot, so they do not show as growth between the first two.
	writeHeapSnapshot(t, t.TempDir(), 0)
	handled := 0
	writeHeapSnapshot(t, dir, handled)
	for range milestones {
		for range batch {
			order := Order{ID: handled, Customer: customers[handled%len(customers)], Items: handled % 7}
			service.Submit(order)
			handled++
		}
		service.Wait()
		writeHeapSnapshot(t, dir, handled)
	}
}

// writeHeapSnapshot writes dir/heap-NNNNNN.pb.gz. A heap profile shows the
// heap as of the last completed garbage collection, so it collects twice:
// the second collection also frees what became garbage during the first.
func writeHeapSnapshot(t *testing.T, dir string, tasks int) {
	t.Helper()
	runtime.GC()
	runtime.GC()
	path := filepath.Join(dir, fmt.Sprintf("heap-%06d.pb.gz", tasks))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		t.Fatalf("write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
