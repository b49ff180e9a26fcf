package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/source/payload"
)

// Folder is a directory of EDI files from one source.
type Folder struct {
	Source string
	Dir    string
}

// Watcher polls folders for EDI files and receives each one. A file
// received is moved to done/ under its folder; one rejected is moved to
// failed/ with a .error.txt file beside it naming the problem. An X12
// file's 997 is written beside it as .997. A file that cannot be received
// now (intake full, database down) stays where it is for the next poll.
// Files whose names start with "." or end in .tmp or .part, and files
// changed in the last Settle, are left alone: the partner is still
// writing them.
type Watcher struct {
	Receiver *Receiver
	Folders  []Folder
	Interval time.Duration
	Settle   time.Duration
	// MaxBytes is the largest file taken, as intake.max_body_bytes for
	// POSTs; a larger one goes to failed/. Zero means no limit.
	MaxBytes int64
	Logger   *slog.Logger
}

// Run polls until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	for _, f := range w.Folders {
		for _, sub := range []string{"done", "failed"} {
			if err := os.MkdirAll(filepath.Join(f.Dir, sub), 0o750); err != nil {
				return fmt.Errorf("preparing EDI folder of %s: %w", f.Source, err)
			}
		}
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		w.Poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll receives every settled file of every folder once.
func (w *Watcher) Poll(ctx context.Context) {
	for _, f := range w.Folders {
		if err := w.pollFolder(ctx, f); err != nil && ctx.Err() == nil {
			w.Logger.ErrorContext(ctx, "polling EDI folder", slog.String("source", f.Source), slog.String("dir", f.Dir), slog.Any("err", err))
		}
	}
}

func (w *Watcher) pollFolder(ctx context.Context, f Folder) error {
	p, err := w.Receiver.Profile(f.Source)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".part") {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < w.Settle {
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		if w.MaxBytes > 0 && info.Size() > w.MaxBytes {
			if dest := w.move(ctx, filepath.Join(f.Dir, name), filepath.Join(f.Dir, "failed"), name); dest != "" {
				w.write(ctx, dest+".error.txt", fmt.Appendf(nil, "%d bytes, more than the %d taken (intake.max_body_bytes)\n", info.Size(), w.MaxBytes))
				w.Logger.WarnContext(ctx, "EDI file too large", slog.String("source", p.ID), slog.String("file", dest), slog.Int64("bytes", info.Size()))
			}
			continue
		}
		w.receiveFile(ctx, p, f, name)
	}
	return nil
}

func (w *Watcher) receiveFile(ctx context.Context, p *Profile, f Folder, name string) {
	path := filepath.Join(f.Dir, name)
	body, err := os.ReadFile(path)
	if err != nil {
		w.Logger.ErrorContext(ctx, "reading EDI file", slog.String("file", path), slog.Any("err", err))
		return
	}
	corr := correlation.New()
	ctx = correlation.With(ctx, corr)
	rc, err := w.Receiver.Receive(ctx, p, Delivery{Channel: payload.ChannelFolder, Name: name, Body: body, CorrelationID: corr})
	var rej *RejectedError
	switch {
	case errors.As(err, &rej):
		dest := w.move(ctx, path, filepath.Join(f.Dir, "failed"), name)
		if dest == "" {
			return
		}
		msg := fmt.Sprintf("%s\npayload %s, received %s\n", rej.Err, rej.Receipt.PayloadID, time.Now().UTC().Format(time.RFC3339))
		for _, pr := range rej.Receipt.Problems {
			msg += "- " + pr + "\n"
		}
		w.write(ctx, dest+".error.txt", []byte(msg))
		if rej.Receipt.Ack != "" {
			w.write(ctx, dest+".997", []byte(rej.Receipt.Ack))
		}
		w.Logger.WarnContext(ctx, "EDI file rejected", slog.String("source", p.ID), slog.String("file", dest), slog.Any("err", rej.Err))
	case err != nil:
		// Not received: try again at the next poll.
		w.Logger.ErrorContext(ctx, "receiving EDI file", slog.String("source", p.ID), slog.String("file", path), slog.Any("err", err))
	default:
		dest := w.move(ctx, path, filepath.Join(f.Dir, "done"), name)
		if dest != "" && rc.Ack != "" {
			w.write(ctx, dest+".997", []byte(rc.Ack))
		}
		if dest != "" && len(rc.Problems) > 0 {
			w.write(ctx, dest+".error.txt", []byte(strings.Join(rc.Problems, "\n")+"\n"))
		}
		w.Logger.InfoContext(ctx, "EDI file received", slog.String("source", p.ID), slog.String("file", dest),
			slog.Int("events", len(rc.Events)), slog.String("payload_id", rc.PayloadID))
	}
}

// move renames path into dir, keeping its name unless taken. It returns
// the new path, or "" when the move failed (the file stays, and is
// received again next time: its events are repeats by then).
func (w *Watcher) move(ctx context.Context, path, dir, name string) string {
	dest := filepath.Join(dir, name)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dest); errors.Is(err, os.ErrNotExist) {
			break
		}
		ext := filepath.Ext(name)
		dest = filepath.Join(dir, fmt.Sprintf("%s.%d%s", strings.TrimSuffix(name, ext), i, ext))
	}
	if err := os.Rename(path, dest); err != nil {
		w.Logger.ErrorContext(ctx, "moving EDI file", slog.String("file", path), slog.Any("err", err))
		return ""
	}
	return dest
}

func (w *Watcher) write(ctx context.Context, path string, data []byte) {
	if err := os.WriteFile(path, data, 0o640); err != nil {
		w.Logger.ErrorContext(ctx, "writing beside EDI file", slog.String("file", path), slog.Any("err", err))
	}
}

// ParseFolders reads intake.edi_dirs entries, "source=dir" each, checking
// that every source is an EDI profile.
func ParseFolders(entries []string, ps *Profiles) ([]Folder, error) {
	var out []Folder
	var errs []error
	for _, e := range entries {
		id, dir, ok := strings.Cut(e, "=")
		id, dir = strings.TrimSpace(id), strings.TrimSpace(dir)
		p := ps.Get(id)
		switch {
		case !ok || id == "" || dir == "":
			errs = append(errs, fmt.Errorf("intake.edi_dirs: %q must be source=directory", e))
		case p == nil:
			errs = append(errs, fmt.Errorf("intake.edi_dirs: %q: %w %q", e, ErrUnknownSource, id))
		case !p.EDI():
			errs = append(errs, fmt.Errorf("intake.edi_dirs: %q: source %s is %s, not x12 or edifact", e, id, p.Format))
		case slices.ContainsFunc(out, func(f Folder) bool { return f.Dir == dir }):
			errs = append(errs, fmt.Errorf("intake.edi_dirs: %q: directory listed twice", e))
		default:
			out = append(out, Folder{Source: id, Dir: dir})
		}
	}
	return out, errors.Join(errs...)
}
