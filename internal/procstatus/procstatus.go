// Package procstatus reads the memory lines of a Linux process's
// /proc/<pid>/status (VmRSS, VmHWM, RssAnon, RssFile, ...), for the
// benchmarks that report how a process's RSS splits into anonymous memory
// and mapped files (bbolt's).
package procstatus

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Read returns the lines of /proc/<pid>/status given in kB, in KiB, by
// name; pid 0 reads this process's.
func Read(pid int) (map[string]int64, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64)
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		fs := strings.Fields(v)
		if !ok || len(fs) != 2 || fs[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(fs[0], 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}
