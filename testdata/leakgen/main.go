// Command leakgen runs a worker pool whose loop follows one memory-retention
// pattern (a variant) and records Go heap profiles of it. It is a test-data
// generator for pprof-chain.
//
// In batch mode it writes OUTDIR/heap-NNNNNN.pb.gz before the first task and
// after every batch, where NNNNNN is the number of tasks handled so far. With
// -serve it runs the variant at a steady rate and serves net/http/pprof,
// /metrics and /debug/vars on a loopback address.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// defaultMemProfileRate is the initial value of runtime.MemProfileRate (as of
// go1.27.3): on average one heap profile sample per 512 KiB allocated.
const defaultMemProfileRate = 512 * 1024

type config struct {
	variant        string
	workers        int
	batch          int
	snapshots      int
	outDir         string
	memProfileRate int
	cacheSize      int
	depth          int
	serveAddr      string
	rate           int
	duration       time.Duration
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "leakgen: %v\n", err)
		os.Exit(2)
	}

	// Set before the workload starts so that every task allocation is sampled
	// at this rate. Allocations made during package initialization and flag
	// parsing were sampled at Go's default rate.
	runtime.MemProfileRate = cfg.memProfileRate

	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))

	if err := run(cfg); err != nil {
		slog.Error("leakgen failed", "variant", cfg.variant, "error", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if cfg.variant == bigStacksVariant {
		return writeBigStacks(cfg.outDir, cfg.depth)
	}

	v := variants[cfg.variant]
	if v.name == "boundedcache" {
		taskCache = newBoundedCache(cfg.cacheSize)
	}

	if cfg.serveAddr != "" {
		return serve(cfg, v)
	}
	return runBatches(cfg, v)
}

func parseFlags() (config, error) {
	var cfg config
	flag.StringVar(&cfg.variant, "variant", "ctxchain",
		"workload to run: "+strings.Join(variantNames(), ", "))
	flag.IntVar(&cfg.workers, "workers", 4, "number of worker goroutines")
	flag.IntVar(&cfg.batch, "batch", 1000, "tasks per batch; a heap profile is written after each batch")
	flag.IntVar(&cfg.snapshots, "snapshots", 6, "number of batches, so the run writes this many profiles plus one at 0 tasks")
	flag.StringVar(&cfg.outDir, "out", "profiles", "output directory for the profiles (created if missing)")
	flag.IntVar(&cfg.memProfileRate, "memprofilerate", 1,
		"bytes allocated per heap profile sample on average: 1 records every allocation, 0 selects Go's default of 524288")
	flag.IntVar(&cfg.cacheSize, "cachesize", 1500, "maximum number of entries in the boundedcache variant's cache")
	flag.IntVar(&cfg.depth, "depth", 17, "recursion depth of the bigstacks variant, which builds 2^depth distinct leaf stacks")
	flag.StringVar(&cfg.serveAddr, "serve", "",
		"run continuously and serve /debug/pprof/, /metrics and /debug/vars on this loopback address, e.g. 127.0.0.1:6060")
	flag.IntVar(&cfg.rate, "rate", 2000, "tasks per second in service mode")
	flag.DurationVar(&cfg.duration, "duration", 0, "stop service mode after this long, e.g. 30s (0 runs until SIGINT or SIGTERM)")
	flag.Parse()

	if flag.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q; all settings are flags (see -help)", flag.Arg(0))
	}
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	if cfg.memProfileRate == 0 {
		cfg.memProfileRate = defaultMemProfileRate
	}
	return cfg, nil
}

func (cfg config) validate() error {
	var errs []error
	if _, ok := variants[cfg.variant]; !ok && cfg.variant != bigStacksVariant {
		errs = append(errs, fmt.Errorf("invalid -variant %q; expected one of %s",
			cfg.variant, strings.Join(variantNames(), ", ")))
	}
	if cfg.workers < 1 {
		errs = append(errs, fmt.Errorf("invalid -workers %d; expected at least 1", cfg.workers))
	}
	if cfg.batch < 1 {
		errs = append(errs, fmt.Errorf("invalid -batch %d; expected at least 1", cfg.batch))
	}
	if cfg.snapshots < 1 {
		errs = append(errs, fmt.Errorf("invalid -snapshots %d; expected at least 1", cfg.snapshots))
	}
	if cfg.memProfileRate < 0 {
		errs = append(errs, fmt.Errorf("invalid -memprofilerate %d; expected 0 (Go's default) or a positive number of bytes", cfg.memProfileRate))
	}
	if cfg.cacheSize < 1 {
		errs = append(errs, fmt.Errorf("invalid -cachesize %d; expected at least 1", cfg.cacheSize))
	}
	if cfg.depth < 1 || cfg.depth > maxBigStacksDepth {
		errs = append(errs, fmt.Errorf("invalid -depth %d; expected 1 to %d", cfg.depth, maxBigStacksDepth))
	}

	// Service mode settings.
	if cfg.rate < 1 {
		errs = append(errs, fmt.Errorf("invalid -rate %d; expected at least 1 task per second", cfg.rate))
	}
	if cfg.duration < 0 {
		errs = append(errs, fmt.Errorf("invalid -duration %s; expected 0 or a positive duration", cfg.duration))
	}

	if cfg.serveAddr != "" {
		if err := checkLoopbackAddr(cfg.serveAddr); err != nil {
			errs = append(errs, err)
		}
		if cfg.variant == bigStacksVariant {
			errs = append(errs, fmt.Errorf("variant %q has no service mode; remove -serve", bigStacksVariant))
		}
	}
	return errors.Join(errs...)
}

func variantNames() []string {
	names := []string{bigStacksVariant}
	for name := range variants {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
