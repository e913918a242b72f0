package robots

import (
	"context"
	"fmt"
	"net/url"
)

// MaxRedirects is how many consecutive 3xx hops Fetch follows (RFC 9309
// §2.3.1.2: at least five).
const MaxRedirects = 5

// Get performs one GET of u without following redirects and returns the
// status, the resolved or raw Location of a 3xx response (nil if absent),
// and at most maxBytes octets of the body. err is non-nil only when no HTTP
// response was received (DNS, connect, TLS, timeout, refused by an SSRF
// guard, ctx done). The caller's implementation owns the HTTP client,
// politeness and SSRF protection.
type Get func(ctx context.Context, u *url.URL, maxBytes int64) (status int, location *url.URL, body []byte, err error)

// Fetch fetches origin's /robots.txt through get and applies RFC 9309
// §2.3.1:
//
//   - Only the scheme and host of origin are used; they must be http or
//     https and non-empty, otherwise Fetch returns DisallowAll and an error
//     wrapping ErrInvalidOrigin.
//   - A 3xx response with a Location is followed, up to MaxRedirects hops,
//     even to another scheme or host; relative locations are resolved
//     against the URL that returned them. The rules found apply to origin.
//     A further 3xx, a 3xx without Location, or one pointing to a non-HTTP
//     scheme is "unavailable": allow all (see FromStatus).
//   - At most MaxBytes+1 octets are requested (the one more tells a file
//     of exactly MaxBytes from a longer one); a body longer than MaxBytes
//     is cut to MaxBytes and at its last line break, so no line is
//     half-read.
//   - An error from get, or ctx done between hops, yields DisallowAll
//     (Unreachable, Status 0) together with the error, wrapped once.
//
// Otherwise the error is nil and the result is FromStatus(final status,
// body, token). It is FetchFile's result parsed for token.
func Fetch(ctx context.Context, get Get, origin *url.URL, token string) (*Rules, error) {
	status, body, err := FetchFile(ctx, get, origin)
	return FromStatus(status, body, token), err
}

// FetchFile is Fetch without the parsing: it requests origin's
// /robots.txt the same way and returns the final status and, for a 2xx
// one, the body cut as Parse reads it (at most MaxBytes octets, ending at
// a line break when the file was longer); for any other status the body is nil. On
// error the status is 0. FromStatus(status, body, token) is what Fetch
// returns, so a caller can keep the file and parse it again later, for
// another token.
func FetchFile(ctx context.Context, get Get, origin *url.URL) (status int, body []byte, err error) {
	if origin == nil || origin.Host == "" || (origin.Scheme != "http" && origin.Scheme != "https") {
		return 0, nil, fmt.Errorf("fetch robots.txt for %v: %w", origin, ErrInvalidOrigin)
	}
	u := &url.URL{Scheme: origin.Scheme, Host: origin.Host, Path: "/robots.txt"}
	for hop := 0; ; hop++ {
		if err := ctx.Err(); err != nil {
			return 0, nil, fmt.Errorf("fetch %s: %w", u, err)
		}
		status, loc, body, err := get(ctx, u, MaxBytes+1)
		if err != nil {
			return 0, nil, fmt.Errorf("fetch %s: %w", u, err)
		}
		if status < 300 || status > 399 || loc == nil || hop == MaxRedirects {
			if status < 200 || status > 299 {
				body = nil
			}
			return status, truncate(body), nil
		}
		next := u.ResolveReference(loc)
		if next.Scheme != "http" && next.Scheme != "https" || next.Host == "" {
			return status, nil, nil
		}
		next.Fragment, next.RawFragment = "", ""
		u = next
	}
}
