package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"os/signal"
	"syscall"
	"time"
)

// checkLoopbackAddr returns an error unless addr is host:port with a
// loopback host (localhost, 127.0.0.0/8 or ::1). Service mode is meant for
// tests on this machine only, so it never listens on other interfaces.
func checkLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid -serve address %q: %v; expected host:port such as 127.0.0.1:6060", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("invalid -serve address %q: host %q is not a loopback address; use 127.0.0.1, [::1] or localhost", addr, host)
	}
	return nil
}

// serve runs the variant at cfg.rate tasks per second and serves
// /debug/pprof/, /debug/vars and /metrics until SIGINT, SIGTERM or the end
// of cfg.duration.
func serve(cfg config, v variant) error {
	listener, err := net.Listen("tcp", cfg.serveAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.serveAddr, err)
	}

	http.HandleFunc("/metrics", serveMetrics)
	server := &http.Server{
		Handler:           http.DefaultServeMux,
		ReadHeaderTimeout: 10 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}

	pool := newTaskPool()
	pool.start(cfg.workers, v.loop)
	go submitAtRate(ctx, pool, cfg.rate)

	serveErr := make(chan error, 1)
	go func() {
		serveErr <- server.Serve(listener)
	}()
	slog.Info("service started", "variant", v.name, "addr", listener.Addr().String(),
		"workers", cfg.workers, "rate", cfg.rate, "memprofilerate", cfg.memProfileRate)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve HTTP on %s: %w", listener.Addr(), err)
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down HTTP server: %w", err)
	}
	slog.Info("service stopped", "variant", v.name, "tasks_total", tasksTotal.Value())
	return nil
}

// submitAtRate submits tasks at rate tasks per second until ctx is done.
// When the workers fall behind, submission blocks and the rate drops.
func submitAtRate(ctx context.Context, pool *taskPool, rate int) {
	const tick = 10 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()

	start := time.Now()
	submitted := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			due := int(now.Sub(start).Seconds() * float64(rate))
			for ; submitted < due; submitted++ {
				if !pool.submit(ctx, submitted) {
					return
				}
			}
		}
	}
}

// serveMetrics writes tasks_total in the Prometheus text exposition format.
func serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP leakgen_tasks_total Tasks handled since the process started.\n")
	fmt.Fprintf(w, "# TYPE leakgen_tasks_total counter\n")
	fmt.Fprintf(w, "leakgen_tasks_total %d\n", tasksTotal.Value())
}
