package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	defer watchSignals(sigs, stop, eng, func() { reloadConfig(ctx, eng, "", log) }, log)()
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

// The daemon survives its log reader going away (crawler run 2>&1 | tee
// log, and tee dies): a write to a broken stderr no longer kills it with
// SIGPIPE, and SIGTERM still stops it gracefully.
func TestRunSurvivesBrokenStderr(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "crawler.yaml")
	yaml := fmt.Sprintf(`data_dir: %q
seeds: ["http://127.0.0.1:1/"]
fetch: {allow_private_addresses: true, respect_robots: false, per_host_delay: 0s}
log: {level: debug}
`, filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the reader is gone before the first log line
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CRAWLER_TEST_ARGS="+strings.Join([]string{"run", "--config", cfg}, "\x1f"))
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	pidfile := filepath.Join(dir, "data", "crawler.pid")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(pidfile); err == nil {
			break
		}
		select {
		case <-exited:
			t.Fatalf("the daemon died at start with its stderr gone: %v", cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not start")
		}
	}
	time.Sleep(200 * time.Millisecond) // it logs its start and its fetches meanwhile
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon did not stop on SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the daemon with its stderr gone: %v; want exit 0 after SIGTERM", cmd.ProcessState)
	}
	if _, err := os.Stat(pidfile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pidfile after the stop: %v; want it removed by a graceful stop", err)
	}
}

// A SIGHUP that comes as the daemon returns may have begun a reload:
// runDaemon closes the engine, the socket and the file only once it has
// ended (watchSignals' finish waits for it), never under it.
func TestSignalsFinishWaitsForReload(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	started, release := make(chan struct{}), make(chan struct{})
	reload := func() { close(started); <-release }
	finish := watchSignals(sigs, func() {}, nil, reload, nil)
	sigs <- syscall.SIGHUP
	<-started
	finished := make(chan struct{})
	go func() { finish(); close(finished) }()
	select {
	case <-finished:
		t.Fatal("finish returned while a reload was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-finished
}
