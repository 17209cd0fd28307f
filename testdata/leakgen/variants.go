package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// workerLoop is the body of one worker goroutine. It receives task numbers
// from p.tasks until the channel is closed and calls p.finishTask once for
// each task. Every variant has its own named loop function so that profiles
// show it as a distinct frame.
type workerLoop func(p *taskPool, worker int)

type variant struct {
	name string
	loop workerLoop
	// goroutineProfile makes batch mode also write goroutine-NNNNNN.pb.gz.
	goroutineProfile bool
}

var variants = map[string]variant{
	"ctxchain":      {name: "ctxchain", loop: runCtxChain},
	"ctxfixed":      {name: "ctxfixed", loop: runCtxFixed},
	"reqchain":      {name: "reqchain", loop: runReqChain},
	"loggerchain":   {name: "loggerchain", loop: runLoggerChain},
	"errchain":      {name: "errchain", loop: runErrChain},
	"appendslice":   {name: "appendslice", loop: runAppendSlice},
	"mapgrow":       {name: "mapgrow", loop: runMapGrow},
	"boundedcache":  {name: "boundedcache", loop: runBoundedCache},
	"goroutineleak": {name: "goroutineleak", loop: runGoroutineLeak, goroutineProfile: true},
}

type labelsKey struct{}

// taskLabels is the context value that addLabels attaches. addLabels stores
// a pointer to it, which fits in the context's interface field without
// another allocation, so each call allocates one taskLabels and one context
// node.
type taskLabels struct {
	Task   int
	Worker int
}

func addLabels(ctx context.Context, worker, task int) context.Context {
	return context.WithValue(ctx, labelsKey{}, &taskLabels{Task: task, Worker: worker})
}

func taskFromContext(ctx context.Context) int {
	labels, _ := ctx.Value(labelsKey{}).(*taskLabels)
	if labels == nil {
		return -1
	}
	return labels.Task
}

// runCtxChain leaks: it assigns the derived context back to the loop's
// outer variable, so each task adds a node to a chain that is never freed.
func runCtxChain(p *taskPool, worker int) {
	ctx := context.Background()
	for id := range p.tasks {
		ctx = addLabels(ctx, worker, id)
		p.finishTask(taskFromContext(ctx))
	}
}

// runCtxFixed is the healthy form of runCtxChain: the derived context is
// local to one task and becomes garbage when the task ends.
func runCtxFixed(p *taskPool, worker int) {
	ctx := context.Background()
	for id := range p.tasks {
		taskCtx := addLabels(ctx, worker, id)
		p.finishTask(taskFromContext(taskCtx))
	}
}

type requestTagKey struct{}

// requestTag is 16 bytes. A pointer-free object under 16 bytes would go to
// the runtime's tiny allocator, which packs several such objects into one
// 16-byte block and records only the block in the heap profile.
type requestTag struct {
	Task   int
	Worker int
}

// runReqChain leaks through a request that is rebuilt from itself. Each new
// request's context wraps the previous request's context. The old request
// struct becomes garbage, but the chain of context nodes, with one tag per
// task, stays reachable from the newest request.
func runReqChain(p *taskPool, worker int) {
	target := fmt.Sprintf("http://127.0.0.1/workers/%d", worker)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	if err != nil {
		panic(fmt.Sprintf("build request for %s: %v", target, err))
	}
	for id := range p.tasks {
		req = req.WithContext(context.WithValue(req.Context(), requestTagKey{}, &requestTag{Task: id, Worker: worker}))
		p.finishTask(id)
	}
}

// runLoggerChain leaks through a logger that is rebuilt from itself. Each
// With call copies the previous logger's pre-formatted attributes into a new
// buffer, so one buffer per worker grows by one attribute per task, and the
// bytes copied per task grow with the number of tasks handled.
func runLoggerChain(p *taskPool, worker int) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil)).With("worker", worker)
	for id := range p.tasks {
		logger = logger.With("task", id)
		logger.Info("task finished")
		p.finishTask(id)
	}
}

var errWorkerStarted = errors.New("worker started")

// runErrChain leaks through an error that wraps itself. Each wrapping error
// stores its full message, which repeats every earlier message, so retained
// bytes grow with the square of the number of tasks.
func runErrChain(p *taskPool, worker int) {
	err := fmt.Errorf("worker %d: %w", worker, errWorkerStarted)
	for id := range p.tasks {
		err = fmt.Errorf("task %d: %w", id, err)
		if !errors.Is(err, errWorkerStarted) {
			panic("error chain lost its root")
		}
		p.finishTask(id)
	}
}

// taskRecord is a 64-byte value with no pointers.
type taskRecord struct {
	Task      int64
	Worker    int64
	StartedAt int64 // Unix time in nanoseconds
	Digest    [40]byte
}

// runAppendSlice leaks through a slice that only grows: one record per task
// is appended and the slice is never truncated. The records live in one
// backing array per worker, which append replaces with a larger copy when
// it is full.
func runAppendSlice(p *taskPool, worker int) {
	var history []taskRecord
	for id := range p.tasks {
		record := taskRecord{Task: int64(id), Worker: int64(worker), StartedAt: time.Now().UnixNano()}
		record.Digest[0] = byte(id)
		history = append(history, record)
		p.finishTask(int(history[len(history)-1].Task))
	}
}

const mapPayloadSize = 32

// runMapGrow leaks through a map that only grows: one 32-byte payload per
// task is inserted under a new key and no key is ever deleted.
func runMapGrow(p *taskPool, worker int) {
	seen := make(map[int][]byte)
	for id := range p.tasks {
		payload := make([]byte, mapPayloadSize)
		payload[0] = byte(worker)
		seen[id] = payload
		p.finishTask(id)
	}
}

// cacheEntry is a 64-byte value.
type cacheEntry struct {
	Task    int
	Payload [56]byte
}

// boundedCache is a map that holds at most limit entries. When it is full,
// put evicts the oldest entry first.
type boundedCache struct {
	mu      sync.Mutex
	entries map[int]*cacheEntry
	order   []int // keys in insertion order, used as a ring buffer
	next    int   // index in order of the oldest key once the cache is full
	limit   int
}

func newBoundedCache(limit int) *boundedCache {
	return &boundedCache{
		entries: make(map[int]*cacheEntry),
		order:   make([]int, limit),
		limit:   limit,
	}
}

func (c *boundedCache) put(key int, entry *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == c.limit {
		delete(c.entries, c.order[c.next])
	}
	c.entries[key] = entry
	c.order[c.next] = key
	c.next = (c.next + 1) % c.limit
}

// taskCache is the cache that all workers of the boundedcache variant
// share. run creates it with the -cachesize limit before the workers start.
var taskCache *boundedCache

// runBoundedCache is healthy in the long run: it adds one entry per task to
// the shared cache, which grows until it holds -cachesize entries and then
// stays at that size.
func runBoundedCache(p *taskPool, worker int) {
	for id := range p.tasks {
		entry := &cacheEntry{Task: id}
		entry.Payload[0] = byte(worker)
		taskCache.put(id, entry)
		p.finishTask(id)
	}
}

type taskResult struct {
	Task int
	Err  error
}

// runGoroutineLeak leaks goroutines: each task starts a goroutine that
// waits for a reply that is never sent. Each blocked goroutine keeps its
// stack, its runtime g struct, its channel and the runtime sudog of its
// receive.
func runGoroutineLeak(p *taskPool, worker int) {
	for id := range p.tasks {
		reply := make(chan taskResult)
		go waitForReply(reply)
		p.finishTask(id)
	}
}

// waitForReply blocks forever in the goroutineleak variant, because nothing
// sends on reply or closes it.
func waitForReply(reply <-chan taskResult) {
	result := <-reply
	if result.Err != nil {
		panic(result.Err)
	}
}
