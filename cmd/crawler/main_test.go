package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"crawler/config"
)

// The test binary doubles as the crawler: with CRAWLER_TEST_ARGS set it
// runs Main on them, so tests can start real daemon processes and kill them.
func TestMain(m *testing.M) {
	if args := os.Getenv("CRAWLER_TEST_ARGS"); args != "" {
		os.Exit(Main(context.Background(), strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// daemon starts the crawler as a subprocess with args.
func daemon(t *testing.T, stderr *bytes.Buffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CRAWLER_TEST_ARGS="+strings.Join(args, "\x1f"))
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// stopDaemon stops a daemon with SIGTERM and fails the test unless it
// exits 0 within d.
func stopDaemon(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer, d time.Duration) {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd, d); code != 0 {
		t.Fatalf("SIGTERM: exit %d; stderr:\n%s", code, stderr.String())
	}
}

// run runs Main in-process and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// testConcurrency is writeConfig's fetch.concurrency.
const testConcurrency = 4

// writeConfig writes a config for a loopback crawl and returns its path.
func writeConfig(t *testing.T, dir string, seeds []string, extra string) string {
	t.Helper()
	var quoted []string
	for _, s := range seeds {
		quoted = append(quoted, fmt.Sprintf("%q", s))
	}
	yaml := fmt.Sprintf(`data_dir: %s
seeds: [%s]
fetch:
  concurrency: %d
  per_host_concurrency: 2
  per_host_delay: 0s
  timeout: 5s
  allow_private_addresses: true
  retry_base_delay: 10ms
  retry_max_delay: 50ms
log:
  level: warn
%s`, filepath.Join(dir, "data"), strings.Join(quoted, ", "), testConcurrency, extra)
	path := filepath.Join(dir, "crawler.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadedConfig writes writeConfig's config, loads it and makes its
// data_dir, as a daemon starting on it would.
func loadedConfig(t *testing.T, dir string, seeds []string) (string, *config.Config) {
	t.Helper()
	path := writeConfig(t, dir, seeds, "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("crawler did not exit within %v", limit)
		return -1
	}
}
