//go:build tools

// Package deps pins the modules the packages are being written against, so
// go.sum is complete while they land. Removed once every import is real.
package deps

import (
	_ "code.dny.dev/ssrf"
	_ "github.com/PuerkitoBio/goquery"
	_ "github.com/andybalholm/brotli"
	_ "github.com/andybalholm/cascadia"
	_ "github.com/klauspost/compress/gzip"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/klauspost/compress/flate"
	_ "github.com/nlnwa/whatwg-url/url"
	_ "github.com/nlnwa/whatwg-url/canonicalizer"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/collectors"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/testutil"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/spf13/cobra"
	_ "github.com/temoto/robotstxt"
	_ "go.etcd.io/bbolt"
	_ "go.etcd.io/bbolt/errors"
	_ "go.uber.org/goleak"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/net/html"
	_ "golang.org/x/net/html/charset"
	_ "golang.org/x/net/publicsuffix"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/sync/singleflight"
	_ "golang.org/x/term"
	_ "golang.org/x/text/encoding/simplifiedchinese"
	_ "golang.org/x/text/encoding/japanese"
)
