package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"crawler/crawl"
	"crawler/frontier"
	"crawler/store"
)

// Bounds on one request that carries a list (seed, recrawl, pause,
// resume): the client sends a longer list in several requests. The bytes
// are the list's JSON, where a character may take six ("&" is "\u0026"),
// so a URL of urlnorm.MaxLength takes at most 24 KiB; the daemon reads up
// to maxSeedRequest.
const (
	maxListItems = 10_000
	maxListBytes = 4 << 20
)

// ClientOptions configures a Client.
type ClientOptions struct {
	// DialTimeout bounds connecting to the socket. Default 1s; zero means
	// the default.
	DialTimeout time.Duration

	// CallTimeout bounds a single-answer call (Ping, GetPage, Stats,
	// Seed, Recrawl; not Backup) whose context has no deadline, so that a daemon that
	// accepts a request and never answers cannot hang its caller; the call
	// then fails with ErrNoAnswer. A list sent in several requests (see
	// Seed) has it for each. Streams (ListPages, Search, Hosts,
	// Export) are not bounded: on a large store they may rightly run long,
	// and their caller cancels them. Default 30s; zero means the default,
	// a negative value no bound.
	CallTimeout time.Duration
}

// Client implements Querier by asking a daemon over its unix socket. Every
// method's context reaches the request: cancelling it abandons the answer.
// It is safe for concurrent use.
type Client struct {
	path    string
	hc      *http.Client
	tr      *http.Transport
	timeout time.Duration // CallTimeout; <= 0: none
}

// NewClient returns a Client for the daemon serving on the socket at path.
// It does not connect; methods return an error matching ErrNoDaemon when
// nothing answers there. Call Close when done.
func NewClient(path string, opts ClientOptions) *Client {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = time.Second
	}
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 30 * time.Second
	}
	d := &net.Dialer{Timeout: opts.DialTimeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{path: path, hc: &http.Client{Transport: tr}, tr: tr, timeout: opts.CallTimeout}
}

// Path returns the socket's path.
func (c *Client) Path() string { return c.path }

// Close releases idle connections.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// Ping checks that a daemon answers on the socket.
func (c *Client) Ping(ctx context.Context) error {
	var ok map[string]bool
	return c.call(ctx, http.MethodGet, "/v1/ping", nil, nil, &ok)
}

// ListPages implements Querier.
func (c *Client) ListPages(ctx context.Context, f PageFilter, fn func(*store.Page) error) error {
	return c.stream(ctx, "/v1/pages", encodeFilter(f), func(l *line) error {
		if l.Page == nil {
			return fmt.Errorf("pages: line without a page: %w", ErrProtocol)
		}
		return fn(l.Page)
	})
}

// GetPage implements Querier.
func (c *Client) GetPage(ctx context.Context, rawURL string, withBody bool) (*store.Page, []byte, error) {
	q := url.Values{"url": {rawURL}}
	if withBody {
		q.Set("body", "1")
	}
	var l line
	if err := c.call(ctx, http.MethodGet, "/v1/page", q, nil, &l); err != nil {
		return nil, nil, err
	}
	if l.Page == nil {
		return nil, nil, fmt.Errorf("page: answer without a page: %w", ErrProtocol)
	}
	return l.Page, l.Body, nil
}

// Search implements Querier.
func (c *Client) Search(ctx context.Context, text string, limit int, fn func(*store.Page) error) error {
	q := url.Values{"q": {text}}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	return c.stream(ctx, "/v1/search", q, func(l *line) error {
		if l.Page == nil {
			return fmt.Errorf("search: line without a page: %w", ErrProtocol)
		}
		return fn(l.Page)
	})
}

// Stats implements Querier.
func (c *Client) Stats(ctx context.Context) (*Stats, error) {
	s := new(Stats)
	if err := c.call(ctx, http.MethodGet, "/v1/stats", nil, nil, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Hosts implements Querier.
func (c *Client) Hosts(ctx context.Context, fn func(*frontier.HostInfo) error) error {
	return c.stream(ctx, "/v1/hosts", nil, func(l *line) error {
		if l.Host == nil {
			return fmt.Errorf("hosts: line without a host: %w", ErrProtocol)
		}
		return fn(l.Host)
	})
}

// Seed implements Querier. It sends urls in requests of at most 10,000
// URLs and 4 MiB of JSON, checking them all first when they take more
// than one, so that an invalid URL still adds nothing. When a request
// fails, the URLs of those before it stay added, and added counts them.
func (c *Client) Seed(ctx context.Context, urls []string) (added int, err error) {
	err = postList(ctx, c, "/v1/seed", urls,
		func(urls []string) error { return checkURLs("seed", urls) },
		func(part []string) any { return seedRequest{URLs: part} },
		func(a seedAnswer) { added += a.Added })
	return added, err
}

// Recrawl implements Querier, sending urls as Seed does; when a request
// fails, res adds up what those before it did.
func (c *Client) Recrawl(ctx context.Context, urls []string) (res crawl.RecrawlResult, err error) {
	err = postList(ctx, c, "/v1/recrawl", urls,
		func(urls []string) error { return checkURLs("recrawl", urls) },
		func(part []string) any { return seedRequest{URLs: part} },
		res.Add)
	return res, err
}

// postList posts list to path in parts (splitList), the body of each
// being request(part), and hands each answer to add; it stops at the
// first error. When the list takes more than one request, check must
// pass on the whole of it first, so that one bad item still makes the
// daemon do nothing.
func postList[A any](ctx context.Context, c *Client, path string, list []string,
	check func([]string) error, request func(part []string) any, add func(A)) error {
	parts := splitList(list)
	if len(parts) > 1 {
		if err := check(list); err != nil {
			return err
		}
	}
	for _, part := range parts {
		var a A
		if err := c.post(ctx, path, request(part), &a); err != nil {
			return err
		}
		add(a)
	}
	return nil
}

// splitList cuts list into consecutive parts of at most maxListItems
// items and maxListBytes of JSON; an item longer than that alone is a
// part by itself. An empty list is one empty part: the request the daemon
// refuses.
func splitList(list []string) [][]string {
	if len(list) == 0 {
		return [][]string{list}
	}
	var parts [][]string
	start, size := 0, 0
	for i, s := range list {
		b, _ := json.Marshal(s) // a string always encodes
		n := len(b) + 1         // and its comma
		if i > start && (i-start == maxListItems || size+n > maxListBytes) {
			parts = append(parts, list[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(list) {
		parts = append(parts, list[start:])
	}
	return parts
}

// post sends req as a JSON body and decodes the answer into v, as call
// does.
func (c *Client) post(ctx context.Context, path string, req, v any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPost, path, nil, body, v)
}

// Backup implements Querier.
func (c *Client) Backup(ctx context.Context, dir string) (*store.BackupInfo, error) {
	body, err := json.Marshal(backupRequest{Dir: dir})
	if err != nil {
		return nil, err
	}
	var info store.BackupInfo
	// Not bounded by CallTimeout: copying a large store rightly takes
	// long; ctx cancels it.
	if err := c.answer(ctx, http.MethodPost, "/v1/backup", nil, body, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Export implements Querier.
func (c *Client) Export(ctx context.Context, f PageFilter, fn func(*store.Page, []byte) error) error {
	return c.stream(ctx, "/v1/export", encodeFilter(f), func(l *line) error {
		if l.Page == nil {
			return fmt.Errorf("export: line without a page: %w", ErrProtocol)
		}
		return fn(l.Page, l.Body)
	})
}

// do sends a request and returns the response of a successful one; a
// failed one becomes the daemon's error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte) (*http.Response, error) {
	u := "http://crawler" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, fmt.Errorf("%s: %v: %w", c.path, op.Err, ErrNoDaemon)
		}
		return nil, fmt.Errorf("query daemon on %s: %w", c.path, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var l line
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&l); err != nil || l.Error == nil {
		return nil, fmt.Errorf("daemon on %s answered %s: %w", c.path, resp.Status, ErrProtocol)
	}
	return nil, l.Error.err()
}

// call sends a request and decodes its one JSON answer into v.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body []byte, v any) (err error) {
	if _, ok := ctx.Deadline(); !ok && c.timeout > 0 {
		var cancel context.CancelFunc
		parent := ctx
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
		defer func() {
			if err != nil && parent.Err() == nil && ctx.Err() != nil {
				err = fmt.Errorf("%s: no answer within %v: %w", path, c.timeout, ErrNoAnswer)
			}
		}()
	}
	return c.answer(ctx, method, path, q, body, v)
}

// answer sends a request and decodes its single answer into v, bounded by
// ctx alone.
func (c *Client) answer(ctx context.Context, method, path string, q url.Values, body []byte, v any) error {
	resp, err := c.do(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %v: %w", path, err, ErrProtocol)
	}
	return nil
}

// stream sends a request and calls fn for each line of the answer until
// its end line. A stream that stops without one is ErrProtocol.
func (c *Client) stream(ctx context.Context, path string, q url.Values, fn func(*line) error) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(resp.Body, 64<<10))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var l line
		if err := dec.Decode(&l); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s: answer cut short: %v: %w", path, err, ErrProtocol)
		}
		switch {
		case l.Error != nil:
			return l.Error.err()
		case l.End:
			return nil
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
}
