package frontier

import "encoding/binary"

// seenCacheSlots is the size of the writer's seen cache: 64 Ki keys, 1 MiB.
const seenCacheSlots = 1 << 16

// seenCache remembers seen keys recently looked up or added, so that the
// writer can skip the B+tree lookup for links it already knows. Pages
// link mostly to pages already seen (navigation, headers, footers), and
// such a lookup was half of the writer's time per link.
//
// It only ever answers "seen": a key, once in the seen bucket, is never
// removed (a URL's state changes, its key stays), so a hit is always
// right, and a miss falls through to the bucket. It is direct-mapped: a
// key evicts whatever shared its slot. A failed transaction may have
// added keys that were rolled back, so the writer resets the cache then.
// Only the writer goroutine uses it.
type seenCache struct {
	slots [][16]byte
	used  []bool
}

func newSeenCache() *seenCache {
	return &seenCache{slots: make([][16]byte, seenCacheSlots), used: make([]bool, seenCacheSlots)}
}

func (c *seenCache) slot(key []byte) int {
	// The key's last 12 bytes are SHA-256 output: uniformly spread.
	return int(binary.BigEndian.Uint32(key[12:16]) % seenCacheSlots)
}

// has reports whether key is known to be in the seen bucket.
func (c *seenCache) has(key []byte) bool {
	i := c.slot(key)
	return c.used[i] && [16]byte(key) == c.slots[i]
}

// add records that key is in the seen bucket (or will be once the current
// transaction commits).
func (c *seenCache) add(key []byte) {
	i := c.slot(key)
	c.slots[i], c.used[i] = [16]byte(key), true
}

// reset forgets everything.
func (c *seenCache) reset() { clear(c.used) }
