// Package gateexample is a small order service for the pprof-chain gate
// example. A pool of workers handles orders, keeps the most recent receipts
// in a bounded cache, and tags each order's context with its request. The
// leaky build reassigns the worker's context on every order, so each order
// adds a link to a chain of contexts that is never freed.
package gateexample

import (
	"context"
	"hash/crc32"
	"sync"
)

// Order is one unit of work: one task for the gate.
type Order struct {
	ID       int
	Customer string
	Items    int
}

// request is the value the service attaches to an order's context.
type request struct {
	orderID  int
	customer string
}

type requestKey struct{}

// recentLimit bounds the receipt cache. It fills within the first two
// thousand orders, so the cache's growth levels off early in every run.
const recentLimit = 1024

// Service handles orders with a fixed number of workers.
type Service struct {
	// Leaky selects the build with the context chain.
	Leaky bool

	orders  chan Order
	pending sync.WaitGroup
	recent  *receiptCache
}

// NewService starts workers that handle orders until Close is called.
func NewService(workers int, leaky bool) *Service {
	s := &Service{
		Leaky:  leaky,
		orders: make(chan Order),
		recent: newReceiptCache(recentLimit),
	}
	for range workers {
		go s.work(context.Background())
	}
	return s
}

// Submit hands one order to a worker.
func (s *Service) Submit(order Order) {
	s.pending.Add(1)
	s.orders <- order
}

// Wait returns when every submitted order has been handled.
func (s *Service) Wait() {
	s.pending.Wait()
}

// Close stops the workers.
func (s *Service) Close() {
	close(s.orders)
}

func (s *Service) work(ctx context.Context) {
	for order := range s.orders {
		if s.Leaky {
			// The bug: the derived context replaces the worker's context, so
			// it points at every earlier order's context.
			ctx = withRequest(ctx, order)
			s.handle(ctx, order)
		} else {
			orderCtx := withRequest(ctx, order)
			s.handle(orderCtx, order)
		}
		s.pending.Done()
	}
}

func withRequest(ctx context.Context, order Order) context.Context {
	return context.WithValue(ctx, requestKey{}, &request{orderID: order.ID, customer: order.Customer})
}

// handle prices the order in a scratch buffer that becomes garbage at once,
// and keeps a receipt in the bounded cache.
func (s *Service) handle(ctx context.Context, order Order) {
	req, _ := ctx.Value(requestKey{}).(*request)
	scratch := make([]byte, 512+order.Items)
	for i := range scratch {
		scratch[i] = byte(req.orderID + i)
	}
	s.recent.put(&receipt{orderID: order.ID, customer: req.customer, sum: crc32.ChecksumIEEE(scratch)})
}

// receipt is the cache entry of one order.
type receipt struct {
	orderID  int
	customer string
	sum      uint32
}

// receiptCache keeps the receipts of the last limit orders, evicting the
// oldest first.
type receiptCache struct {
	mu       sync.Mutex
	limit    int
	order    []int
	receipts map[int]*receipt
}

func newReceiptCache(limit int) *receiptCache {
	return &receiptCache{limit: limit, receipts: make(map[int]*receipt, limit)}
}

func (c *receiptCache) put(r *receipt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) == c.limit {
		delete(c.receipts, c.order[0])
		c.order = append(c.order[:0], c.order[1:]...)
	}
	c.order = append(c.order, r.orderID)
	c.receipts[r.orderID] = r
}
