package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"crawler/config"
)

// A second SIGTERM while the crawl is stopping aborts the fetches still
// in flight, instead of the daemon waiting out shutdown_timeout: the
// signal handler outlives the context its first signal cancels.
func TestSecondSignalAborts(t *testing.T) {
	var hanging atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			hanging.Add(1)
			<-r.Context().Done() // answers only when the fetch is cancelled
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Seeds = []string{srv.URL + "/"}
	cfg.Fetch.AllowPrivateAddresses = true
	cfg.Fetch.RespectRobots = false
	cfg.Fetch.Timeout = time.Minute
	cfg.ShutdownTimeout = time.Minute
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	eng, log := openEngine(t, cfg)
	sigs := make(chan os.Signal, 4) // as runDaemon wires it
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan struct{})
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		handleSignals(ctx, done, sigs, stop, eng, "", log)
	}()
	defer func() { close(done); <-handled }()
	ran := make(chan error, 1)
	go func() { ran <- eng.Run(ctx) }()
	for hanging.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	sigs <- syscall.SIGTERM
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond) // an operator's second Ctrl-C comes later
	sigs <- syscall.SIGTERM
	select {
	case <-ran:
	case <-time.After(20 * time.Second): // far below the minute the fetch and shutdown would take
		eng.Abort() // let the test end
		<-ran
		t.Fatal("a second SIGTERM did not abort the fetch in flight")
	}
}
