package archive

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrChecksum means an archive file is not the one its manifest entry
// describes: changed, truncated or replaced.
var ErrChecksum = errors.New("archive file does not match its checksum")

// ErrMissing means a file the manifest lists is not there.
var ErrMissing = errors.New("archive file missing")

// dayWriter writes one day's rows, as JSON lines, into a gzip'd file.
type dayWriter struct {
	f     *os.File
	hash  io.Writer
	count *countWriter
	gz    *gzip.Writer
	buf   *bufio.Writer
	enc   *json.Encoder

	rows            int64
	firstKey, lastK string
	// lastHash is set by the audit scan: the last entry's hash.
	lastHash string
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// write writes v, whose key is key, as one line.
func (w *dayWriter) write(key string, v any) error {
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	if w.rows == 0 {
		w.firstKey = key
	}
	w.lastK = key
	w.rows++
	return nil
}

// writeDay writes the file path (in a temporary file renamed over it,
// synced) with the rows fill writes, and returns its manifest entry's
// row count, keys, checksum and size.
func writeDay(path string, fill func(w *dayWriter) error) (FileEntry, error) {
	var e FileEntry
	err := writeFileSync(path, func(f *os.File) error {
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(f, h)}
		gz, err := gzip.NewWriterLevel(cw, gzip.BestSpeed)
		if err != nil {
			return err
		}
		buf := bufio.NewWriterSize(gz, 64<<10)
		w := &dayWriter{f: f, hash: h, count: cw, gz: gz, buf: buf, enc: json.NewEncoder(buf)}
		w.enc.SetEscapeHTML(false)
		if err := fill(w); err != nil {
			return err
		}
		if err := buf.Flush(); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
		e = FileEntry{Rows: w.rows, FirstKey: w.firstKey, LastKey: w.lastK, LastHash: w.lastHash, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: cw.n}
		return nil
	})
	return e, err
}

// checkFile reports whether dir's file of e is there with e's checksum:
// nil, or an error matching ErrMissing or ErrChecksum.
func checkFile(dir string, e FileEntry) error {
	f, err := os.Open(filepath.Join(dir, e.File))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", e.File, ErrMissing)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.File, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 || n != e.Bytes {
		return fmt.Errorf("%s: %w (sha256 %s, want %s)", e.File, ErrChecksum, got, e.SHA256)
	}
	return nil
}

// readLines checks dir's file of e against its checksum, then calls line
// with each of its lines in order, in batches of at most batch lines.
// The lines passed are only valid during the call.
func readLines(dir string, e FileEntry, batch int, lines func([][]byte) error) error {
	if err := checkFile(dir, e); err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, e.File))
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.File, err)
	}
	defer gz.Close()
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 0, 64<<10), 256<<20)
	var n int64
	var pending [][]byte
	for sc.Scan() {
		pending = append(pending, append([]byte(nil), sc.Bytes()...))
		n++
		if len(pending) == batch {
			if err := lines(pending); err != nil {
				return err
			}
			pending = pending[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", e.File, err)
	}
	if len(pending) > 0 {
		if err := lines(pending); err != nil {
			return err
		}
	}
	if n != e.Rows {
		return fmt.Errorf("%s: %d rows, the manifest says %d: %w", e.File, n, e.Rows, ErrChecksum)
	}
	return nil
}
