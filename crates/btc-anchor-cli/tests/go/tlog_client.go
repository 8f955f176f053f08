// Command tlog_client reads a log that `btc-anchor log serve` serves, over
// HTTP, as a stock C2SP tlog-tiles client does, with
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog: it fetches
// /checkpoint and verifies its signature with the log's vkey, reads the
// tiles (tlog checks each against the checkpoint) to the checkpoint's
// root, proves and checks the inclusion of a few entries read from the
// entry bundles, and, given the checkpoint it saw last time, checks that
// the new one is consistent with it. It checks the headers tlog-tiles asks
// for on every answer.
//
// Usage (GOPATH mode, nothing downloaded):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run tlog_client.go URL VKEY STATE
//
// STATE is a folder where it keeps the last checkpoint it verified. It
// prints one line per check and "ok", exiting 0, or "FAIL: ..." and exits 1.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	checkpointType  = "text/plain; charset=utf-8"
	checkpointCache = "public, max-age=2"
	tileType        = "application/octet-stream"
	tileCache       = "public, max-age=31536000, immutable"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// fetch GETs prefix/path and checks the status and headers.
func fetch(prefix, path, kind, cache string) ([]byte, error) {
	resp, err := http.Get(prefix + "/" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<24))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != kind {
		return nil, fmt.Errorf("GET %s: Content-Type %q, want %q", path, got, kind)
	}
	if got := resp.Header.Get("Cache-Control"); got != cache {
		return nil, fmt.Errorf("GET %s: Cache-Control %q, want %q", path, got, cache)
	}
	return body, nil
}

// tiles reads C2SP tiles over HTTP: tlog names them tile/8/L/N[.p/W], the
// C2SP layout tile/L/N[.p/W].
type tiles struct{ prefix string }

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tile := range ts {
		b, err := fetch(t.prefix, "tile/"+strings.TrimPrefix(tile.Path(), "tile/8/"), tileType, tileCache)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// open verifies a signed checkpoint with the verifiers and parses it.
func open(msg []byte, vs note.Verifiers) (checkpoint, error) {
	n, err := note.Open(msg, vs)
	if err != nil {
		return checkpoint{}, err
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, fmt.Errorf("checkpoint text has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, err
	}
	b, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(b) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], b)
	return checkpoint{lines[0], size, root}, nil
}

// entry reads entry i of a tree of size from its entry bundle.
func entry(prefix string, size, i int64) ([]byte, error) {
	n := i / 256
	w := 256
	if n == size/256 {
		w = int(size % 256)
	}
	path := tlog.Tile{H: 8, L: 0, N: n, W: w}.Path()
	path = "tile/entries/" + strings.TrimPrefix(path, "tile/8/0/")
	b, err := fetch(prefix, path, tileType, tileCache)
	if err != nil {
		return nil, err
	}
	for k := 0; len(b) >= 2; k++ {
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+l {
			return nil, fmt.Errorf("%s is truncated", path)
		}
		if int64(k) == i%256 {
			return b[2 : 2+l], nil
		}
		b = b[2+l:]
	}
	return nil, fmt.Errorf("%s has no entry %d", path, i%256)
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: tlog_client URL VKEY STATE")
	}
	prefix, vkey, state := strings.TrimSuffix(os.Args[1], "/"), os.Args[2], os.Args[3]
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	vs := note.VerifierList(v)

	msg, err := fetch(prefix, "checkpoint", checkpointType, checkpointCache)
	if err != nil {
		fail("%v", err)
	}
	cp, err := open(msg, vs)
	if err != nil {
		fail("checkpoint: %v", err)
	}
	fmt.Printf("checkpoint %s %d verified\n", cp.origin, cp.size)

	hr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, tiles{prefix})
	th, err := tlog.TreeHash(cp.size, hr)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if th != cp.root {
		fail("tiles give root %v, the checkpoint says %v", th, cp.root)
	}
	fmt.Printf("tree %d ok\n", cp.size)

	for _, i := range []int64{0, cp.size / 2, cp.size - 1} {
		proof, err := tlog.ProveRecord(cp.size, i, hr)
		if err != nil {
			fail("prove record %d: %v", i, err)
		}
		e, err := entry(prefix, cp.size, i)
		if err != nil {
			fail("entry %d: %v", i, err)
		}
		if err := tlog.CheckRecord(proof, cp.size, cp.root, i, tlog.RecordHash(e)); err != nil {
			fail("record %d: %v", i, err)
		}
		if tlog.CheckRecord(proof, cp.size, cp.root, i, tlog.RecordHash(append(e, 0))) == nil {
			fail("a changed entry %d verified", i)
		}
		fmt.Printf("record %d ok\n", i)
	}

	last := filepath.Join(state, "checkpoint")
	if old, err := os.ReadFile(last); err == nil {
		prev, err := open(old, vs)
		if err != nil {
			fail("the last checkpoint: %v", err)
		}
		if prev.size > cp.size {
			fail("the log shrank from %d to %d", prev.size, cp.size)
		}
		tp, err := tlog.ProveTree(cp.size, prev.size, hr)
		if err != nil {
			fail("prove consistency: %v", err)
		}
		if err := tlog.CheckTree(tp, cp.size, cp.root, prev.size, prev.root); err != nil {
			fail("consistency %d -> %d: %v", prev.size, cp.size, err)
		}
		fmt.Printf("consistent %d -> %d\n", prev.size, cp.size)
	}
	if err := os.WriteFile(last, msg, 0o644); err != nil {
		fail("%v", err)
	}
	fmt.Println("ok")
}
