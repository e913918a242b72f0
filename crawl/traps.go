package crawl

import (
	"strings"

	"crawler/internal/urlnorm"
)

// maxPathSegments bounds the repeated-run search (cubic in the segment
// count); a deeper path is a trap in itself.
const maxPathSegments = 64

// trap says why a discovered link looks like a crawler trap, or "".
// The per-host page budget is the frontier's (it needs the host totals).
func (e *Engine) trap(link string) string {
	sc := &e.config().Scope
	if sc.MaxURLLength > 0 && len(link) > sc.MaxURLLength {
		return "url too long"
	}
	_, _, rest := urlnorm.SplitCanonical(link)
	path, query, _ := strings.Cut(rest, "?")
	if sc.MaxQueryParams > 0 && queryParams(query) > sc.MaxQueryParams {
		return "too many query parameters"
	}
	if sc.MaxRepeatedSegments > 0 {
		segs := strings.Split(strings.Trim(path, "/"), "/")
		if len(segs) > maxPathSegments {
			return "too many path segments"
		}
		if repeatedRun(segs) > sc.MaxRepeatedSegments {
			return "repeated path segments"
		}
	}
	return ""
}

// queryParams counts the parameters of a query: its non-empty
// '&'-separated pieces, as URLSearchParams finds them ("a=1&&b" has two).
func queryParams(query string) int {
	n := 0
	for query != "" {
		piece, rest, _ := strings.Cut(query, "&")
		if piece != "" {
			n++
		}
		query = rest
	}
	return n
}

// repeatedRun returns the most consecutive repetitions of any run of
// segments: /a/b/a/b/a/b has "a/b" three times, /x/x/x/x has "x" four times.
func repeatedRun(segs []string) int {
	best := 1
	n := len(segs)
	for l := 1; l <= n/2; l++ {
		for start := 0; start+2*l <= n; start++ {
			reps := 1
			for next := start + l; next+l <= n && equalRun(segs, start, next, l); next += l {
				reps++
			}
			best = max(best, reps)
		}
	}
	return best
}

func equalRun(segs []string, a, b, l int) bool {
	for i := range l {
		if segs[a+i] != segs[b+i] {
			return false
		}
	}
	return true
}
