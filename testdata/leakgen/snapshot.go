package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// writeSnapshot writes dir/heap-NNNNNN.pb.gz, and also
// dir/goroutine-NNNNNN.pb.gz when goroutines is true, where NNNNNN is tasks.
//
// It runs two garbage collections first, because the heap profile reports
// in-use memory as of the most recently completed collection. The second
// collection also frees objects that became unreachable while the first one
// ran.
func writeSnapshot(dir string, tasks int, goroutines bool) error {
	runtime.GC()
	runtime.GC()
	if err := writeProfile(dir, "heap", tasks); err != nil {
		return err
	}
	if goroutines {
		return writeProfile(dir, "goroutine", tasks)
	}
	return nil
}

// writeProfile writes the named runtime/pprof profile as gzipped protobuf.
func writeProfile(dir, name string, tasks int) error {
	profile := pprof.Lookup(name)
	if profile == nil {
		return fmt.Errorf("runtime/pprof has no profile named %q", name)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%06d.pb.gz", name, tasks))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s profile: %w", name, err)
	}
	if err := profile.WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("write %s profile to %s: %w", name, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// warmUpProfileWriter writes a heap profile to io.Discard. The first profile
// written by a process allocates long-lived tables, such as the CRC-32 table
// of compress/gzip. Doing that before the first snapshot keeps those tables
// out of the growth between snapshots.
func warmUpProfileWriter() error {
	if err := pprof.Lookup("heap").WriteTo(io.Discard, 0); err != nil {
		return fmt.Errorf("write warm-up heap profile: %w", err)
	}
	return nil
}
