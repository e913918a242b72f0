package robots_test

import (
	"fmt"
	"net/url"

	"crawler/robots"
)

func ExampleParse() {
	body := []byte(`User-agent: *
Disallow: /

User-agent: Crawler
Allow: /public/
Disallow: /public/*.pdf$
Crawl-delay: 2.5
Sitemap: https://example.com/sitemap.xml
`)
	r := robots.Parse(body, robots.Token("crawler/0.1 (+https://example.com/bot)"))
	for _, p := range []string{"/public/a.html", "/public/a.pdf", "/private"} {
		u, _ := url.Parse("https://example.com" + p)
		fmt.Println(p, r.Allowed(u))
	}
	fmt.Println(r.CrawlDelay(), r.Sitemaps())
	// Output:
	// /public/a.html true
	// /public/a.pdf false
	// /private true
	// 2.5s [https://example.com/sitemap.xml]
}
