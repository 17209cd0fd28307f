package main

import (
	"context"
	"expvar"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// scratchSize is the size of the buffer that every task allocates and drops,
// so that alloc_space grows in every variant, including the healthy ones.
const scratchSize = 4 << 10

// tasksTotal counts handled tasks. The expvar package serves it on
// /debug/vars, and /metrics exports it as leakgen_tasks_total.
var tasksTotal = expvar.NewInt("tasks_total")

// taskPool hands task numbers to worker goroutines over an unbuffered
// channel. Each worker runs one variant's loop for its whole life, so state
// that a loop keeps across tasks lives as long as the pool.
type taskPool struct {
	tasks   chan int
	pending sync.WaitGroup
}

func newTaskPool() *taskPool {
	return &taskPool{tasks: make(chan int)}
}

// start launches the workers. Each one calls loop(p, index) until the pool
// is closed.
func (p *taskPool) start(workers int, loop workerLoop) {
	for index := range workers {
		go loop(p, index)
	}
}

// submit sends one task to the workers. It returns false without sending
// when ctx is done first.
func (p *taskPool) submit(ctx context.Context, id int) bool {
	p.pending.Add(1)
	select {
	case p.tasks <- id:
		return true
	case <-ctx.Done():
		p.pending.Done()
		return false
	}
}

// finishTask does the work that every variant shares: it allocates the
// per-task scratch buffer, which becomes garbage at once, and counts the
// task. Each worker loop calls it once per task.
func (p *taskPool) finishTask(id int) {
	scratch := newScratchBuffer()
	scratch[0] = byte(id)
	scratch[len(scratch)-1] = byte(id >> 8)
	tasksTotal.Add(1)
	p.pending.Done()
}

// newScratchBuffer is not inlined so that the buffer escapes to the heap
// and appears in the profile at its own frame.
//
//go:noinline
func newScratchBuffer() []byte {
	return make([]byte, scratchSize)
}

// runBatches runs cfg.snapshots batches of cfg.batch tasks. It writes the
// profiles once before the first task and again after each batch, when every
// task of that batch has finished.
func runBatches(cfg config, v variant) error {
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}

	pool := newTaskPool()
	pool.start(cfg.workers, v.loop)
	defer close(pool.tasks)

	// Log once before the first snapshot: the first log line loads the local
	// time zone, which would otherwise show up as growth between snapshots.
	slog.Info("batch run started", "variant", v.name, "workers", cfg.workers,
		"batch", cfg.batch, "snapshots", cfg.snapshots, "memprofilerate", cfg.memProfileRate)
	if err := warmUpProfileWriter(); err != nil {
		return err
	}
	ctx := context.Background()
	handled := 0
	for snapshot := 0; snapshot <= cfg.snapshots; snapshot++ {
		if snapshot > 0 {
			for range cfg.batch {
				pool.submit(ctx, handled)
				handled++
			}
			pool.pending.Wait()
		}
		if err := writeSnapshot(cfg.outDir, handled, v.goroutineProfile); err != nil {
			return err
		}
		slog.Info("wrote snapshot", "variant", v.name, "tasks", handled, "dir", cfg.outDir)
	}
	return nil
}
