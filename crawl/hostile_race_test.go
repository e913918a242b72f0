//go:build race

package crawl

// raceEnabled reports whether the test binary runs under the race detector.
const raceEnabled = true
