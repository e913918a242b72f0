package store

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestReclaimMovesADamagedValue: a value whose checksum no longer matches
// (one flipped byte on disk) does not keep the reclaim from finishing,
// which would keep the drained log, and stop every later reclaim, for
// good. It is moved as it is: reading it still fails as damaged, Check
// still names its page, every other page reads back whole, and a recrawl
// replaces it.
func TestReclaimMovesADamagedValue(t *testing.T) {
	db, path, m := openReclaimStore(t, 50, 300)
	bad := reclaimURL(7)
	refs, err := decodeLogRefs(rawRef(t, db, bad))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.OpenFile(valuesPath(path, 1), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, refs.body.off+valueHeader+10); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db = reopen(t, path, Options{NoSync: true})
	st, err := db.Reclaim(context.Background())
	if err != nil {
		t.Fatalf("Reclaim: %v", err)
	}
	if db.ReclaimUnfinished() || st.Freed == 0 {
		t.Fatalf("the reclaim did not finish: %+v, %+v", st, counts(t, db))
	}
	if st.Damaged != 1 {
		t.Errorf("Damaged = %d; want 1", st.Damaged)
	}
	if _, err := os.Stat(valuesPath(path, 1)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the drained log is still there: %v", err)
	}
	err = db.View(func(tx *Tx) error {
		_, err := tx.Body(bad)
		return err
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("Body of the damaged page after the reclaim: %v; want ErrCorrupt", err)
	}
	errs := db.Check()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), bad) || !strings.Contains(errs[0].Error(), "checksum") {
		t.Errorf("Check after the reclaim: %v; want one error naming %s's checksum", errs, bad)
	}
	// A recrawl answered 200 replaces it.
	update(t, db, func(tx *Tx) error { return putFull(tx, m, bad, "recrawled", "b9-7", 300) })
	checkPages(t, db, m)
	checkClean(t, db, "after the damaged page was recrawled")
}
