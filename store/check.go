package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkRecords verifies what the store's own buckets and its value log
// promise each other:
//   - every page record decodes; a record in the value log lies before the
//     log's committed end, its checksum matches, and so does its body's;
//   - no two records name the same record or body in the log;
//   - the body blob of an older file's record, if it names one, exists
//     and is named by no other record;
//   - every blob is named by a record;
//   - every body of an older file (bodies bucket) has a page record;
//   - the pages and body-bytes counters equal what is stored, and the
//     garbage counter the log's bytes no record names.
//
// It reads every record and body once; memory grows with the number of
// records.
func checkRecords(tx *bolt.Tx, values *valueLog, logs *logSet) error {
	pages, blobs, legacy := tx.Bucket(bucketPages), tx.Bucket(bucketBlobs), tx.Bucket(bucketBodies)
	if pages == nil || tx.Bucket(bucketMeta) == nil {
		return nil // not initialized yet (read-only open of a fresh file)
	}
	var errs []error
	report := func(format string, args ...any) {
		if len(errs) < 100 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	named := make(map[uint64]bool)
	inLog := make(map[valueRef]bool) // slot and offset
	lm := readLogMeta(tx.Bucket(bucketMeta))
	var records, bodyBytes, live int64
	_ = pages.ForEach(func(k, v []byte) error {
		records++
		if isLogRef(v) {
			refs, err := decodeLogRefs(v)
			if err != nil {
				report("page %s: %v", k, err)
				return nil
			}
			for i, r := range []valueRef{refs.rec, refs.body} {
				what := [...]string{"record", "body"}[i]
				if r.n == 0 {
					continue
				}
				if i == 1 {
					bodyBytes += r.n
				}
				live += r.span()
				if lm.gen[r.slot] == 0 {
					report("page %s: %s at %d+%d is in value log slot %d, which is not in use", k, what, r.off, r.n, r.slot)
					continue
				}
				if end := lm.end[r.slot]; r.off+valueHeader+r.n > end {
					report("page %s: %s at %d+%d lies past the value log's end %d (generation %d)", k, what, r.off, r.n, end, lm.gen[r.slot])
					continue
				}
				at := valueRef{off: r.off, slot: r.slot}
				if inLog[at] {
					report("page %s: %s at %d of value log %d is named by another record too", k, what, r.off, lm.gen[r.slot])
				}
				inLog[at] = true
				js, err := values.read(logs, r, false)
				if err != nil {
					report("page %s: %s: %v", k, what, err)
				} else if i == 0 {
					if _, err := decodePage(js); err != nil {
						report("page %s: %v", k, err)
					}
				}
			}
			return nil
		}
		blob, _, err := splitRecord(v)
		if err != nil {
			report("page %s: %v", k, err)
			return nil
		}
		if blob == 0 {
			return nil
		}
		if named[blob] {
			report("page %s: blob %d is named by another record too", k, blob)
		}
		named[blob] = true
		if blobs == nil || blobs.Get(blobKey(blob)) == nil {
			report("page %s: blob %d is missing", k, blob)
		}
		return nil
	})
	if blobs != nil {
		_ = blobs.ForEach(func(k, v []byte) error {
			bodyBytes += int64(len(v))
			if len(k) != 8 || !named[u64(k)] {
				report("blob %x is named by no page record", k)
			}
			return nil
		})
	}
	if legacy != nil {
		_ = legacy.ForEach(func(k, v []byte) error {
			bodyBytes += int64(len(v))
			if pages.Get(k) == nil {
				report("body of %s has no page record", k)
			}
			return nil
		})
	}
	m := tx.Bucket(bucketMeta)
	if n := counter(m, keyPages); n != records {
		report("counter pages = %d but %d records are stored", n, records)
	}
	if n := counter(m, keyBodyBytes); n != bodyBytes {
		report("counter body_bytes = %d but bodies hold %d bytes", n, bodyBytes)
	}
	if m.Get(keyValuesGarbage) != nil { // absent until a read-write open counts it
		if n, end := counter(m, keyValuesGarbage), lm.total(); n != end-live {
			report("counter values_garbage = %d but %d of the value logs' %d bytes are named by no record", n, end-live, end)
		}
	}
	return errors.Join(errs...)
}
