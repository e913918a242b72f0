package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// proxySchemes are the proxy URL schemes net/http speaks.
var proxySchemes = map[string]bool{"http": true, "https": true, "socks5": true, "socks5h": true}

// parseProxy parses fetch.proxy.
func parseProxy(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	var uerr *url.Error
	switch {
	case errors.As(err, &uerr):
		return nil, fmt.Errorf("not a URL: %v", uerr.Err) // not the URL: it may hold a password
	case err != nil:
		return nil, errors.New("not a URL")
	case !proxySchemes[strings.ToLower(u.Scheme)]:
		return nil, fmt.Errorf(`want an http://, https:// or socks5:// URL, got %q`, u.Redacted())
	case u.Hostname() == "":
		return nil, fmt.Errorf("no host in %q", u.Redacted())
	case u.Port() != "" && !connectPort(u.Port()):
		// url.Parse takes any digits; dialing it would fail every request.
		return nil, fmt.Errorf("port %s in %q is not one from 1 to 65535", u.Port(), u.Redacted())
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("a proxy URL is a scheme, a host and a port, got %q", u.Redacted())
	}
	return u, nil
}

// connectPort reports whether port, digits as url.Parse leaves them, is
// a TCP port a connection can go to.
func connectPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// ProxyURL returns fetch.proxy parsed; nil when it is empty or does not
// parse (Validate reports it).
func (f *Fetch) ProxyURL() *url.URL {
	if f.Proxy == "" {
		return nil
	}
	u, err := parseProxy(f.Proxy)
	if err != nil {
		return nil
	}
	return u
}
