// Command verify checks, with golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog, a log that btc-anchor-log wrote: the signed
// checkpoint, the tiles (C2SP tlog-tiles paths, height 8), and an offline
// proof (c2sp.org/tlog-proof@v1) of one entry. It also signs the checkpoint
// text with the same signer key, which must give the same bytes (Ed25519 is
// deterministic).
//
// Usage (GOPATH mode, nothing downloaded):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run verify.go DIR
//
// DIR holds vkey, skey, checkpoint, entry.hex, proof.tlog-proof, tile/ and
// consistency: the old size, the old root (base64) and the proof's hashes
// (base64), one a line, proving the old tree a prefix of the checkpoint's.
// It prints "ok" and exits 0, or prints the failure and exits 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func read(dir, name string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		fail("%v", err)
	}
	return b
}

// tiles reads C2SP tiles: tlog names them tile/8/L/N[.p/W], the C2SP
// layout tile/L/N[.p/W].
type tiles struct{ dir string }

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tile := range ts {
		p := strings.TrimPrefix(tile.Path(), "tile/8/")
		b, err := os.ReadFile(filepath.Join(t.dir, "tile", filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// hash64 decodes one base64 hash or fails.
func hash64(s string) tlog.Hash {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		fail("hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func main() {
	if len(os.Args) != 2 {
		fail("usage: verify DIR")
	}
	dir := os.Args[1]
	vkey := strings.TrimSpace(string(read(dir, "vkey")))
	skey := strings.TrimSpace(string(read(dir, "skey")))
	cpBytes := read(dir, "checkpoint")

	// The signed checkpoint.
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	n, err := note.Open(cpBytes, note.VerifierList(v))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("checkpoint text has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("root: %v", err)
	}
	var root tlog.Hash
	copy(root[:], rootBytes)

	// Signing the same text with the same key gives the same note.
	s, err := note.NewSigner(skey)
	if err != nil {
		fail("skey: %v", err)
	}
	again, err := note.Sign(&note.Note{Text: n.Text}, s)
	if err != nil {
		fail("sign: %v", err)
	}
	if !bytes.Equal(again, cpBytes) {
		fail("go signs the checkpoint as\n%s\nnot\n%s", again, cpBytes)
	}

	// The tiles give the checkpoint's root (each tile checked by tlog).
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles{dir})
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if th != root {
		fail("tiles give root %v, checkpoint says %v", th, root)
	}

	// The proof.
	text := string(read(dir, "proof.tlog-proof"))
	head, cp, ok := strings.Cut(text, "\n\n")
	if !ok || cp != string(cpBytes) {
		fail("proof does not end in the checkpoint")
	}
	pl := strings.Split(head, "\n")
	if pl[0] != "c2sp.org/tlog-proof@v1" {
		fail("proof header %q", pl[0])
	}
	pl = pl[1:]
	if strings.HasPrefix(pl[0], "extra ") {
		pl = pl[1:]
	}
	if !strings.HasPrefix(pl[0], "index ") {
		fail("no index line")
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(pl[0], "index "), 10, 64)
	if err != nil {
		fail("index: %v", err)
	}
	var proof tlog.RecordProof
	for _, l := range pl[1:] {
		b, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(b) != tlog.HashSize {
			fail("proof hash %q", l)
		}
		var h tlog.Hash
		copy(h[:], b)
		proof = append(proof, h)
	}
	entry, err := hex.DecodeString(strings.TrimSpace(string(read(dir, "entry.hex"))))
	if err != nil {
		fail("entry: %v", err)
	}
	if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(entry)); err != nil {
		fail("inclusion proof: %v", err)
	}
	// tlog computes the same proof from the tiles.
	mine, err := tlog.ProveRecord(size, index, hr)
	if err != nil {
		fail("prove from tiles: %v", err)
	}
	if len(mine) != len(proof) {
		fail("tlog's proof has %d hashes, ours %d", len(mine), len(proof))
	}
	for i := range mine {
		if mine[i] != proof[i] {
			fail("proof hash %d differs", i)
		}
	}
	// A wrong leaf must fail.
	if tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(append(entry, 0))) == nil {
		fail("a wrong entry verified")
	}

	// The consistency proof from an older tree to the checkpoint's.
	cl := strings.Split(strings.TrimSpace(string(read(dir, "consistency"))), "\n")
	if len(cl) < 2 {
		fail("consistency file has %d lines", len(cl))
	}
	oldSize, err := strconv.ParseInt(cl[0], 10, 64)
	if err != nil {
		fail("old size: %v", err)
	}
	oldRoot := hash64(cl[1])
	var tp tlog.TreeProof
	for _, l := range cl[2:] {
		tp = append(tp, hash64(l))
	}
	if err := tlog.CheckTree(tp, size, root, oldSize, oldRoot); err != nil {
		fail("consistency proof: %v", err)
	}
	theirs, err := tlog.ProveTree(size, oldSize, hr)
	if err != nil {
		fail("prove consistency from tiles: %v", err)
	}
	if len(theirs) != len(tp) {
		fail("tlog's consistency proof has %d hashes, ours %d", len(theirs), len(tp))
	}
	for i := range theirs {
		if theirs[i] != tp[i] {
			fail("consistency hash %d differs", i)
		}
	}
	if oldTh, err := tlog.TreeHash(oldSize, hr); err != nil || oldTh != oldRoot {
		fail("tiles give another old root (%v)", err)
	}
	fmt.Println("ok")
}
