package fetcher

import (
	"context"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// acceptEncoding lists the content codings Fetch can decode.
const acceptEncoding = "gzip, deflate, br"

// Request describes one GET.
type Request struct {
	// URL is the absolute http or https URL to fetch. Required.
	URL *url.URL
	// Header holds extra request headers (e.g. If-None-Match); may be nil.
	// A User-Agent here overrides Options.UserAgent. Accept-Encoding is
	// always replaced by "gzip, deflate, br".
	Header http.Header
	// MaxBodyBytes overrides Options.MaxBodyBytes when > 0 (robots.txt
	// fetches use 512000). Zero or negative: use the client's cap.
	MaxBodyBytes int64
}

// Response reports what the server sent.
type Response struct {
	// URL is the requested URL (redirects are not followed).
	URL *url.URL
	// Status is the HTTP status code.
	Status int
	// Header holds the response headers as received.
	Header http.Header
	// ContentType is the media type of Content-Type, lowercased, parameters
	// stripped ("text/html"); "" if the header is absent.
	ContentType string
	// Charset is the lowercased charset parameter of Content-Type; "" if none.
	Charset string
	// Body is the content-decoded body (gzip, deflate, br), at most the
	// request's MaxBodyBytes long. With an unknown Content-Encoding it holds
	// the raw bytes.
	Body []byte
	// Truncated reports that the body was cut at the cap, either the decoded
	// cap or the wire cap.
	Truncated bool
	// WireBytes counts body bytes read from the connection (after HTTP
	// framing such as chunking is removed, before content decoding),
	// including up to 64 KiB drained after the body to reuse the connection.
	WireBytes int64
	// Location is, for 3xx responses, the Location header resolved against
	// URL; nil if absent, unparsable, or the status is not 3xx.
	Location *url.URL
	// Duration is the time from the start of Fetch to the end of the body.
	Duration time.Duration

	release func() // gives back the body-memory reservation; nil if none
}

// Fetch performs one GET for req.
//
// HTTP error statuses (4xx, 5xx) and redirects are results, not errors. A
// non-nil error is always an [*Error]. When the body fails part-way (reset,
// timeout, undecodable encoding), Fetch returns both the partial Response
// (status, headers and the body read so far) and the error; otherwise the
// Response is nil on error.
//
// ctx reaches the network: canceling it aborts the request (KindCanceled),
// and an httptrace.ClientTrace attached to it receives the usual callbacks.
// Options.Timeout is applied on top of ctx.
func (c *Client) Fetch(ctx context.Context, req *Request) (*Response, error) {
	start := c.now()
	if req == nil || req.URL == nil {
		return nil, &Error{Kind: KindInvalidURL, Err: fmt.Errorf("%w: no URL", ErrInvalidURL)}
	}
	target, err := requestTarget(req.URL)
	if err != nil {
		return nil, &Error{URL: req.URL.Redacted(), Kind: KindInvalidURL, Err: err}
	}
	maxBody := c.maxBodyBytes
	if req.MaxBodyBytes > 0 {
		maxBody = req.MaxBodyBytes
	}

	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	fail := func(err error, fallback Kind) *Error {
		return &Error{URL: req.URL.Redacted(), Kind: classify(ctx, reqCtx, err, fallback), Err: err}
	}

	hreq, err := http.NewRequestWithContext(reqCtx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, &Error{URL: req.URL.Redacted(), Kind: KindInvalidURL, Err: err}
	}
	for _, h := range []http.Header{c.header, c.hostHeader[strings.ToLower(req.URL.Host)], req.Header} {
		for k, vs := range h { // later ones replace: the host's, then the request's
			hreq.Header[k] = append([]string(nil), vs...)
		}
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", c.userAgent)
	}
	hreq.Header.Set("Accept-Encoding", acceptEncoding)
	if u := target.User; u != nil && hreq.Header.Get("Authorization") == "" {
		// As http.Client does for URLs with credentials.
		password, _ := u.Password()
		hreq.SetBasicAuth(u.Username(), password)
	}

	if c.targetGuard != nil {
		err := c.targets.check(reqCtx, target.Hostname(), func(ctx context.Context, host string) error {
			return checkTarget(ctx, c.targetGuard, net.DefaultResolver, host)
		})
		if err != nil {
			return nil, fail(err, KindNetwork)
		}
	}

	// The transport is called directly rather than through http.Client:
	// the client would be of no use (no redirects, no cookies, deadline via
	// ctx) and fails a 3xx whose Location does not parse instead of
	// returning it.
	hresp, err := c.transport.RoundTrip(hreq)
	if err != nil {
		return nil, fail(err, KindProtocol)
	}
	defer hresp.Body.Close()

	resp := &Response{
		URL:    req.URL,
		Status: hresp.StatusCode,
		Header: hresp.Header,
	}
	resp.ContentType, resp.Charset = parseContentType(hresp.Header.Get("Content-Type"))
	if hresp.StatusCode >= 300 && hresp.StatusCode < 400 {
		resp.Location = location(req.URL, hresp.Header.Get("Location"))
	}

	res, err := c.reserve(reqCtx, resp, hresp, maxBody)
	if err != nil {
		return nil, fail(err, KindBodyMemory)
	}
	b := readBody(hresp, maxBody, res.grow)
	resp.Body, resp.Truncated, resp.WireBytes = b.data, b.truncated, b.wireBytes
	resp.Duration = c.now().Sub(start)
	if b.err != nil {
		if b.decodeErr {
			return resp, &Error{URL: req.URL.Redacted(), Kind: KindProtocol, Err: b.err}
		}
		return resp, fail(b.err, KindBodyRead) // KindBodyMemory when a top-up failed
	}
	return resp, nil
}

// requestTarget validates u and returns the URL actually requested: scheme
// lowercased and numeric IPv4 hosts in dotted-quad form (see canonicalIPv4).
func requestTarget(u *url.URL) (*url.URL, error) {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("%w %q", ErrUnsupportedScheme, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: no host", ErrInvalidURL)
	}
	target := *u
	target.Scheme = scheme
	if ip, ok := canonicalIPv4(u.Hostname()); ok {
		target.Host = ip
		if port := u.Port(); port != "" {
			target.Host = net.JoinHostPort(ip, port)
		}
	}
	return &target, nil
}

// parseContentType splits a Content-Type header into its lowercased media
// type and charset.
func parseContentType(v string) (mediaType, charset string) {
	if strings.TrimSpace(v) == "" {
		return "", ""
	}
	if mt, params, err := mime.ParseMediaType(v); err == nil {
		return strings.ToLower(mt), cleanCharset(params["charset"])
	}
	// Hand-written fallback: mime.ParseMediaType rejects the sloppy headers
	// common on the web (duplicate or empty parameters, stray separators,
	// unbalanced quotes) although the media type is usually still usable.
	parts := strings.Split(v, ";")
	mediaType = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "charset") {
			charset = cleanCharset(val)
			break
		}
	}
	return mediaType, charset
}

// cleanCharset lowercases a charset label and strips the stray quotes and
// spaces some servers put around it.
func cleanCharset(v string) string {
	return strings.ToLower(strings.Trim(v, `"' `))
}

// location resolves a Location header value against base; nil if v is empty
// or unparsable.
func location(base *url.URL, v string) *url.URL {
	if v == "" {
		return nil
	}
	ref, err := url.Parse(strings.TrimSpace(v))
	if err != nil {
		return nil
	}
	return base.ResolveReference(ref)
}
