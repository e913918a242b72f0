package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"crawler/frontier"
	"crawler/store"
)

// maxSocketPath is the longest unix socket path Linux accepts
// (sizeof(sun_path) - 1).
const maxSocketPath = 107

// maxSeedRequest bounds the body of a seed, recrawl, pause or resume
// request: four times what a Client sends in one (maxListBytes).
const maxSeedRequest = 16 << 20

// ServerOptions configures a Server.
type ServerOptions struct {
	// Logger receives request failures at debug level. Default
	// slog.Default().
	Logger *slog.Logger

	// ShutdownTimeout is how long Close waits for requests in progress
	// (their contexts are cancelled first). Default 2s; zero means the
	// default.
	ShutdownTimeout time.Duration
}

// Server serves a Querier as HTTP/JSON on a unix socket: the daemon's
// control API. Streaming queries answer in JSON lines, flushed as they are
// written, ended by an {"end":true} line (or an {"error":...} line when
// the query fails midway), so a client can tell a complete answer from a
// cut one.
type Server struct {
	q      Querier
	opts   ServerOptions
	path   string
	info   os.FileInfo // the socket file we created, to remove only ours
	srv    *http.Server
	ctx    context.Context
	cancel context.CancelFunc
	served chan struct{}
	once   sync.Once
	err    error
}

// Listen creates the unix socket at path, readable and writable only by
// the owner (mode 0600), and serves q on it until Close. A stale socket
// file that nothing answers on is replaced; a live one is ErrSocketInUse.
func Listen(path string, q Querier, opts ServerOptions) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 2 * time.Second
	}
	if err := CheckSocketPath(path); err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := listenPrivate(path)
	if err != nil {
		return nil, err
	}
	info, err := os.Lstat(path)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	s := &Server{q: q, opts: opts, path: path, info: info, served: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           s.routes(),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// CheckSocketPath returns an error when Listen could not make a socket at
// path because a unix socket address cannot hold it: the path itself, or
// the temporary one listenPrivate creates it under first (a directory
// beside it, whose name MkdirTemp ends with up to 10 digits). A daemon
// checks it before it creates anything.
func CheckSocketPath(path string) error {
	if len(path) > maxSocketPath {
		return fmt.Errorf("listen %s: socket path longer than %d bytes; set api.socket to a shorter path", path, maxSocketPath)
	}
	if n := len(filepath.Join(filepath.Dir(path), ".sock0123456789", "s")); n > maxSocketPath {
		return fmt.Errorf("listen %s: socket path too long to create safely (%d bytes with its temporary directory, at most %d); set api.socket to a shorter path", path, n, maxSocketPath)
	}
	return nil
}

// removeStale removes a socket file at path that nothing answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listen %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("listen %s: a file that is not a socket is in the way", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		_ = c.Close()
		return fmt.Errorf("listen %s: %w", path, ErrSocketInUse)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listen %s: remove stale socket: %w", path, err)
	}
	return nil
}

// listenPrivate binds the socket where no one else can reach it (a fresh
// 0700 directory next to path), makes it mode 0600 and only then renames
// it into place: there is no moment when other users may connect.
func listenPrivate(path string) (*net.UnixListener, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".sock")
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s") // fits: Listen called CheckSocketPath
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // Close removes the final path itself
	if err := os.Chmod(tmp, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	return ln, nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops serving: it cancels the requests in progress (their
// clients get ErrStopping), waits for them for at most ShutdownTimeout,
// and removes the socket file. It is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		<-s.served
		if fi, err := os.Lstat(s.path); err == nil && os.SameFile(fi, s.info) {
			if err := os.Remove(s.path); err != nil {
				s.err = fmt.Errorf("remove socket %s: %w", s.path, err)
			}
		}
	})
	return s.err
}

// line is one JSON line of a streamed answer, and the body of GetPage's.
type line struct {
	Page   *store.Page         `json:"page,omitempty"`
	Body   []byte              `json:"body,omitempty"` // base64 in JSON
	Host   *frontier.HostInfo  `json:"host,omitempty"`
	Queued *frontier.QueuedURL `json:"queued,omitempty"`
	Error  *wireError          `json:"error,omitempty"`
	End    bool                `json:"end,omitempty"`
}

// seedRequest and seedAnswer are the seed endpoint's bodies; the recrawl
// endpoint takes a seedRequest too, and answers a crawl.RecrawlResult.
type seedRequest struct {
	URLs []string `json:"urls"`
}

type seedAnswer struct {
	Added int `json:"added"`
}

// routes are the API's endpoints; every answer is JSON.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /v1/pages", s.pages)
	mux.HandleFunc("GET /v1/page", s.page)
	mux.HandleFunc("GET /v1/search", s.search)
	mux.HandleFunc("GET /v1/stats", s.stats)
	mux.HandleFunc("GET /v1/hosts", s.hosts)
	mux.HandleFunc("GET /v1/queue", s.queue)
	mux.HandleFunc("POST /v1/seed", s.seed)
	mux.HandleFunc("POST /v1/recrawl", s.recrawl)
	mux.HandleFunc("POST /v1/backup", s.backup)
	mux.HandleFunc("POST /v1/pause", s.pause)
	mux.HandleFunc("POST /v1/resume", s.resume)
	mux.HandleFunc("GET /v1/holds", s.holds)
	mux.HandleFunc("GET /v1/export", s.export)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, fmt.Errorf("no endpoint %s %s: %w", r.Method, r.URL.Path, ErrInvalid))
	})
	return mux
}

func (s *Server) pages(w http.ResponseWriter, r *http.Request) {
	f, err := decodeFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := &stream{w: w}
	err = s.q.ListPages(r.Context(), f, func(p *store.Page) error { return st.send(&line{Page: p}) })
	s.finish(st, r, err)
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, body, err := s.q.GetPage(r.Context(), q.Get("url"), q.Get("body") == "1")
	s.reply(w, r, &line{Page: p, Body: body}, err)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := &stream{w: w}
	err = s.q.Search(r.Context(), q.Get("q"), limit, func(p *store.Page) error { return st.send(&line{Page: p}) })
	s.finish(st, r, err)
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	st, err := s.q.Stats(r.Context())
	s.reply(w, r, st, err)
}

func (s *Server) hosts(w http.ResponseWriter, r *http.Request) {
	st := &stream{w: w}
	err := s.q.Hosts(r.Context(), func(h *frontier.HostInfo) error { return st.send(&line{Host: h}) })
	s.finish(st, r, err)
}

func (s *Server) seed(w http.ResponseWriter, r *http.Request) {
	var req seedRequest
	if !s.decode(w, r, "seed", maxSeedRequest, &req) {
		return
	}
	n, err := s.q.Seed(r.Context(), req.URLs)
	s.reply(w, r, seedAnswer{Added: n}, err)
}

func (s *Server) recrawl(w http.ResponseWriter, r *http.Request) {
	var req seedRequest
	if !s.decode(w, r, "recrawl", maxSeedRequest, &req) {
		return
	}
	res, err := s.q.Recrawl(r.Context(), req.URLs)
	s.reply(w, r, res, err)
}

// decode reads the JSON body of a verb's request, at most limit bytes,
// into v; when it does not decode, it answers ErrInvalid (ErrTooLarge
// past limit) and returns false.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, verb string, limit int64, v any) bool {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit)).Decode(v)
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooLarge):
		err = fmt.Errorf("%s request: over the daemon's limit of %d MiB a request: %w", verb, limit>>20, ErrTooLarge)
	default:
		err = fmt.Errorf("%s request: %v: %w", verb, err, ErrInvalid)
	}
	s.fail(w, r, err)
	return false
}

// reply answers a single-answer request: v, or err when it is not nil.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, s.stopped(err, "the request was cut short"))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// stopped returns ErrStopping, with what it did to the request, in place
// of err when the daemon stopped under the request: Close cut it short
// (the Querier then returns context.Canceled, which the client would take
// for a cancel of its own), or the crawl had stopped and closed its
// frontier, which the socket outlives for a moment at shutdown.
func (s *Server) stopped(err error, what string) error {
	if s.ctx.Err() != nil && errors.Is(err, context.Canceled) || errors.Is(err, frontier.ErrClosed) {
		return fmt.Errorf("%w; %s", ErrStopping, what)
	}
	return err
}

// backupRequest is the backup endpoint's body; it answers a
// store.BackupInfo.
type backupRequest struct {
	Dir string `json:"dir"`
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	var req backupRequest
	if !s.decode(w, r, "backup", 1<<20, &req) {
		return
	}
	info, err := s.q.Backup(r.Context(), req.Dir)
	s.reply(w, r, info, err)
}

func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	f, err := decodeFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := &stream{w: w}
	err = s.q.Export(r.Context(), f, func(p *store.Page, body []byte) error { return st.send(&line{Page: p, Body: body}) })
	s.finish(st, r, err)
}

// fail answers a request that failed before anything was streamed.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	we := toWire(err)
	s.opts.Logger.Debug("control API request failed", "path", r.URL.Path, "err", err)
	writeJSON(w, we.status(), &line{Error: we})
}

// finish ends a streamed answer: an end line, or the error (as a status
// when nothing was streamed yet, else as a last line).
func (s *Server) finish(st *stream, r *http.Request, err error) {
	if err == nil {
		_ = st.send(&line{End: true})
		return
	}
	if !st.started {
		s.fail(st.w, r, s.stopped(err, "the request was cut short"))
		return
	}
	err = s.stopped(err, "the answer is incomplete")
	s.opts.Logger.Debug("control API stream failed", "path", r.URL.Path, "err", err)
	_ = st.send(&line{Error: toWire(err)})
}

// stream writes JSON lines, flushing each so the client sees it at once.
type stream struct {
	w       http.ResponseWriter
	enc     *json.Encoder
	started bool
}

func (st *stream) send(l *line) error {
	if !st.started {
		st.w.Header().Set("Content-Type", "application/x-ndjson")
		st.w.WriteHeader(http.StatusOK)
		st.enc = json.NewEncoder(st.w)
		st.started = true
	}
	if err := st.enc.Encode(l); err != nil {
		return err
	}
	return http.NewResponseController(st.w).Flush()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Filter query parameters, shared with the client.
const (
	paramHost   = "host"
	paramPrefix = "prefix"
	paramStatus = "status"
	paramSince  = "since"
	paramLimit  = "limit"
)

func encodeFilter(f PageFilter) url.Values {
	v := url.Values{}
	if f.Host != "" {
		v.Set(paramHost, f.Host)
	}
	if f.Prefix != "" {
		v.Set(paramPrefix, f.Prefix)
	}
	if f.Status != nil {
		v.Set(paramStatus, strconv.Itoa(*f.Status))
	}
	if !f.Since.IsZero() {
		v.Set(paramSince, f.Since.Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		v.Set(paramLimit, strconv.Itoa(f.Limit))
	}
	return v
}

func decodeFilter(v url.Values) (PageFilter, error) {
	f := PageFilter{Host: v.Get(paramHost), Prefix: v.Get(paramPrefix)}
	if s := v.Get(paramStatus); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return f, fmt.Errorf("status %q: %w", s, ErrInvalid)
		}
		f.Status = &n
	}
	if s := v.Get(paramSince); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return f, fmt.Errorf("since %q: %w", s, ErrInvalid)
		}
		f.Since = t
	}
	var err error
	f.Limit, err = intParam(v, paramLimit)
	return f, err
}

func intParam(v url.Values, name string) (int, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q: not a count: %w", name, s, ErrInvalid)
	}
	return n, nil
}
