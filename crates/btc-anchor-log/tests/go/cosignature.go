// Command cosignature checks, independently of btc-anchor-log, a checkpoint
// that a btc-anchor witness cosigned (C2SP tlog-cosignature,
// cosignature/v1): golang.org/x/mod/sumdb/note opens the note with the
// log's key (a cosignature line of a key it was not given must not stop
// it), and Go's own crypto/ed25519 checks the witness's signature line,
// from the spec's definitions alone:
//
//   - the witness vkey is <name>+<key ID, 8 hex digits>+base64(0x04 ‖ 32-byte public key);
//   - the key ID is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key);
//   - the signature line is "— <name> " + base64(key ID ‖ timestamp, 8 bytes
//     big-endian ‖ Ed25519 signature), and the signature is over
//     "cosignature/v1\ntime <timestamp>\n" followed by the note's text.
//
// Usage (GOPATH mode, nothing downloaded):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run cosignature.go DIR
//
// DIR holds vkey (the log's), witness.vkey and cosigned (the note). It
// prints "ok <timestamp>" and exits 0, or prints the failure and exits 1.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
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

func main() {
	if len(os.Args) != 2 {
		fail("usage: cosignature DIR")
	}
	dir := os.Args[1]
	logKey, err := note.NewVerifier(strings.TrimSpace(string(read(dir, "vkey"))))
	if err != nil {
		fail("vkey: %v", err)
	}
	msg := read(dir, "cosigned")
	n, err := note.Open(msg, note.VerifierList(logKey))
	if err != nil {
		fail("checkpoint: %v", err)
	}

	// The witness's key.
	parts := strings.SplitN(strings.TrimSpace(string(read(dir, "witness.vkey"))), "+", 3)
	if len(parts) != 3 {
		fail("witness vkey: not name+id+key")
	}
	name := parts[0]
	id, err := hex.DecodeString(parts[1])
	if err != nil || len(id) != 4 {
		fail("witness vkey: key ID %q", parts[1])
	}
	material, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(material) != 1+ed25519.PublicKeySize || material[0] != 0x04 {
		fail("witness vkey: not a cosignature/v1 key")
	}
	pub := ed25519.PublicKey(material[1:])
	h := sha256.Sum256(append([]byte(name+"\n"), material...))
	if !bytes.Equal(h[:4], id) {
		fail("witness vkey: key ID %x, its name and key give %x", id, h[:4])
	}

	// Its signature line, among the note's unverified ones.
	var sig []byte
	for _, s := range n.UnverifiedSigs {
		if s.Name == name && s.Hash == binary.BigEndian.Uint32(id) {
			b, err := base64.StdEncoding.DecodeString(s.Base64)
			if err != nil {
				fail("cosignature: %v", err)
			}
			sig = b
		}
	}
	if sig == nil {
		fail("cosignature: no line of %s", name)
	}
	if len(sig) != 4+8+ed25519.SignatureSize || !bytes.Equal(sig[:4], id) {
		fail("cosignature: %d bytes, or another key ID", len(sig))
	}
	ts := binary.BigEndian.Uint64(sig[4:12])
	if ts == 0 || ts > 1<<63-1 {
		fail("cosignature: timestamp %d", ts)
	}
	signed := "cosignature/v1\ntime " + strconv.FormatUint(ts, 10) + "\n" + n.Text
	if !ed25519.Verify(pub, []byte(signed), sig[12:]) {
		fail("cosignature: the Ed25519 signature does not verify")
	}
	fmt.Printf("ok %d\n", ts)
}
