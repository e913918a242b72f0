package procstatus

import (
	"os"
	"testing"
)

func TestRead(t *testing.T) {
	self, err := Read(0)
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if self["VmRSS"] <= 0 || self["RssAnon"] <= 0 {
		t.Fatalf("VmRSS %d, RssAnon %d KiB: want both positive", self["VmRSS"], self["RssAnon"])
	}
	if _, ok := self["Threads"]; ok {
		t.Error("Threads is not a kB line and must be left out")
	}
	byPID, err := Read(os.Getpid())
	if err != nil || byPID["VmRSS"] <= 0 {
		t.Fatalf("Read(own pid) = %v, %v", byPID["VmRSS"], err)
	}
	if _, err := Read(1 << 30); err == nil {
		t.Error("Read of a pid that does not exist: want an error")
	}
}
