// Command crawler is a polite web-crawler daemon with a query CLI.
//
//	crawler run [--config crawler.yaml] [--exit-when-idle]
//
// See README.md for the other verbs.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
