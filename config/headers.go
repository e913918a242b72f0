package config

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// reservedHeaders are the request headers a config may not set, with why:
// the crawler or the HTTP stack sets them.
var reservedHeaders = map[string]string{
	"User-Agent":          "set fetch.user_agent (robots.txt is matched against it)",
	"Host":                "the URL's host is sent",
	"Accept-Encoding":     "the crawler asks for gzip, deflate and br, which it decodes",
	"If-None-Match":       "recrawls send the stored validators",
	"If-Modified-Since":   "recrawls send the stored validators",
	"Range":               "the crawler fetches whole bodies",
	"Connection":          "the HTTP stack manages connections",
	"Keep-Alive":          "the HTTP stack manages connections",
	"Proxy-Connection":    "the HTTP stack manages connections",
	"Te":                  "the HTTP stack manages transfer codings",
	"Trailer":             "the HTTP stack manages transfer codings",
	"Transfer-Encoding":   "the HTTP stack manages transfer codings",
	"Upgrade":             "the HTTP stack manages connections",
	"Content-Length":      "requests are GETs without a body",
	"Proxy-Authorization": "give the proxy's credentials in fetch.proxy",
}

// credentialHeaders carry credentials: only a host_limits entry may set
// them, so that they go to that host alone.
var credentialHeaders = map[string]bool{"Authorization": true, "Cookie": true}

// parseHeader splits a "Name: value" header line as curl -H takes it. The
// name is returned canonical ("accept-language" → "Accept-Language").
func parseHeader(s string) (name, value string, err error) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", "", errors.New(`want "Name: value", got a line without a colon`) // not the line: it may be a secret
	}
	name, value = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	if !httpguts.ValidHeaderFieldName(name) {
		return "", "", fmt.Errorf("%q is not a header name", name)
	}
	if !httpguts.ValidHeaderFieldValue(value) {
		return "", "", fmt.Errorf("the value of %s holds a control character", name)
	}
	name = http.CanonicalHeaderKey(name)
	if why, ok := reservedHeaders[name]; ok {
		return "", "", fmt.Errorf("%s cannot be set: %s", name, why)
	}
	return name, value, nil
}

// validateHeaders checks the header lines at path; credentials only when
// perHost.
func validateHeaders(v *validator, path string, lines []string, perHost bool) {
	for i, s := range lines {
		p := fmt.Sprintf("%s[%d]", path, i)
		name, _, err := parseHeader(s)
		switch {
		case err != nil:
			v.fail(p, "%v", err)
		case credentialHeaders[name] && !perHost:
			v.fail(p, "%s would go to every host: set it in the fetch.host_limits entry of the host it is for", name)
		}
	}
}

// header returns the header lines as a header; lines that do not parse
// are left out (Validate reports them).
func header(lines []string) http.Header {
	h := make(http.Header, len(lines))
	for _, s := range lines {
		if name, value, err := parseHeader(s); err == nil {
			h.Add(name, value)
		}
	}
	return h
}

// RequestHeaders returns fetch.headers, sent with every request, and per
// canonical host the headers of its host_limits entry, sent with that
// host's requests only, over fetch.headers (a name in both takes the
// entry's values). Both are nil when none are set.
func (f *Fetch) RequestHeaders() (all http.Header, perHost map[string]http.Header) {
	if len(f.Headers) > 0 {
		all = header(f.Headers)
	}
	for host, l := range f.HostLimitSet() {
		if len(l.Headers) == 0 {
			continue
		}
		if perHost == nil {
			perHost = make(map[string]http.Header)
		}
		perHost[host] = header(l.Headers)
	}
	return all, perHost
}

// SendsCredentials reports whether a host_limits entry sets Authorization
// or Cookie, or fetch.proxy holds a password: whether the config file
// holds secrets.
func (f *Fetch) SendsCredentials() bool {
	if u := f.ProxyURL(); u != nil {
		if _, ok := u.User.Password(); ok {
			return true
		}
	}
	for _, l := range f.HostLimits {
		for _, line := range l.Headers {
			if name, _, err := parseHeader(line); err == nil && credentialHeaders[name] {
				return true
			}
		}
	}
	return false
}
