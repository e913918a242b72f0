package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// tableBlock is how many rows a table aligns at once: tabwriter holds a
// block in memory, so listing a million pages stays in constant memory
// (columns may shift slightly between blocks).
const tableBlock = 500

// listWriter prints the records of a streaming verb (pages list, search,
// hosts, queue) as an aligned table under a header, or as JSON lines.
type listWriter struct {
	w      *bufio.Writer
	tw     *tabwriter.Writer // nil for jsonl
	enc    *json.Encoder
	header string
	n      int // records written
	block  int
}

func newListWriter(w io.Writer, format, header string) *listWriter {
	bw := bufio.NewWriter(w)
	lw := &listWriter{w: bw, header: header}
	if format == "jsonl" {
		lw.enc = json.NewEncoder(bw)
	} else {
		lw.tw = tabwriter.NewWriter(bw, 0, 8, 2, ' ', 0)
	}
	return lw
}

// write prints v as a JSON line, or as the table row that row writes.
func (lw *listWriter) write(v any, row func(w io.Writer)) error {
	lw.n++
	if lw.enc != nil {
		return lw.enc.Encode(v)
	}
	if lw.n == 1 {
		fmt.Fprintln(lw.tw, lw.header)
	}
	row(lw.tw)
	if lw.block++; lw.block == tableBlock {
		lw.block = 0
		return lw.tw.Flush()
	}
	return nil
}

// flush writes out what is buffered.
func (lw *listWriter) flush() error {
	if lw.tw != nil {
		if err := lw.tw.Flush(); err != nil {
			return err
		}
	}
	return lw.w.Flush()
}

// listTo runs list, a streaming query writing to lw, on the verb's
// querier, flushes lw and maps the outcome: a query error through
// queryErr, nothing listed as errNotFound saying none.
func listTo(ctx context.Context, g *globals, lw *listWriter, none string, list func(q *querier) error) error {
	q, err := openQuerier(ctx, g, false)
	if err != nil {
		return err
	}
	defer q.close()
	err = list(q)
	if ferr := lw.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return queryErr(err)
	}
	if lw.n == 0 {
		return fmt.Errorf("%w: %s", errNotFound, none)
	}
	return nil
}
