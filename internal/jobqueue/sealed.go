package jobqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
)

// A dead letter's arguments and error are sealed under one key, bound to
// its job id (the row's unique key, kept across repeated records).
func deadLetterPlace(column string, jobID int64) string {
	return seal.Place("dead_letters", column, "job:"+strconv.FormatInt(jobID, 10))
}

// seal seals a dead letter's arguments and error text; with encryption off
// they stay as they are and the key id is "".
func (d *DeadLetters) seal(jobID int64, args, errText []byte) (string, string, string) {
	kr := d.db.Keyring
	if kr == nil {
		return string(args), string(errText), ""
	}
	return kr.SealText(args, deadLetterPlace("args", jobID)), kr.SealText(errText, deadLetterPlace("error", jobID)), kr.Current()
}

// open opens a dead letter's stored arguments and error.
func (d *DeadLetters) open(jobID int64, keyID, args, errText string) ([]byte, []byte, error) {
	if keyID == "" {
		return []byte(args), []byte(errText), nil
	}
	kr := d.db.Keyring
	a, err := kr.OpenText(args, deadLetterPlace("args", jobID))
	if err != nil {
		return nil, nil, err
	}
	e, err := kr.OpenText(errText, deadLetterPlace("error", jobID))
	if err != nil {
		return nil, nil, err
	}
	return a, e, nil
}

// SealedTable implements datakey.Table.
func (d *DeadLetters) SealedTable() string { return "dead_letters" }

// CountByKey implements datakey.Table: dead letters by data key, ""
// for plaintext.
func (d *DeadLetters) CountByKey(ctx context.Context) (map[string]int64, error) {
	out, err := d.db.CountGroups(ctx, `SELECT key_id, COUNT(*) FROM dead_letters GROUP BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("counting dead letters by data key: %w", err)
	}
	return out, nil
}

// Reseal implements datakey.Table: it seals under the current key up to
// limit dead letters that are not, in id order after cursor, in one
// transaction. A dead letter that does not open is counted and left alone.
func (d *DeadLetters) Reseal(ctx context.Context, cursor string, limit int) (seal.Batch, error) {
	var b seal.Batch
	cur := d.db.Keyring.Current()
	err := d.db.InTx(ctx, func(tx *sql.Tx) error {
		b = seal.Batch{}
		rows, err := tx.QueryContext(ctx, d.db.Dialect.Rebind(
			`SELECT id, job_id, key_id, args, error FROM dead_letters WHERE id > ? AND key_id <> ? ORDER BY id LIMIT ?`), cursor, cur, limit)
		if err != nil {
			return fmt.Errorf("reading dead letters to re-seal: %w", err)
		}
		type row struct {
			id, keyID, args, errText string
			jobID                    int64
		}
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.jobID, &r.keyID, &r.args, &r.errText); err != nil {
				rows.Close()
				return fmt.Errorf("reading dead letters to re-seal: %w", err)
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading dead letters to re-seal: %w", err)
		}
		if len(todo) == limit {
			b.Next = todo[len(todo)-1].id
		}
		upd := d.db.Dialect.Rebind(`UPDATE dead_letters SET args = ?, error = ?, key_id = ? WHERE id = ? AND key_id = ?`)
		for _, r := range todo {
			a, e, err := d.open(r.jobID, r.keyID, r.args, r.errText)
			if err != nil {
				b.Failed++
				b.Err = fmt.Errorf("dead letter %s: %w", r.id, err)
				continue
			}
			sa, se, keyID := d.seal(r.jobID, a, e)
			if _, err := tx.ExecContext(ctx, upd, sa, se, keyID, r.id, r.keyID); err != nil {
				return fmt.Errorf("re-sealing dead letter %s: %w", r.id, err)
			}
			b.Moved++
		}
		return nil
	})
	return b, err
}

// argsPlace is where an outbound job's sealed payload lives: River's job
// arguments, bound to the action's kind and idempotency key (the job id is
// not known until River inserts it).
func argsPlace(a *connector.Action) string {
	return seal.Place("river_job", "args", a.Kind+"/"+a.IdempotencyKey)
}

// sealAction moves a's payload into sealed form under kr; with encryption
// off (kr nil) or no payload it leaves a as it is.
func sealAction(kr *seal.Keyring, a connector.Action) (connector.Action, string, string) {
	if kr == nil || len(a.Payload) == 0 {
		return a, "", ""
	}
	sealed := kr.SealText(a.Payload, argsPlace(&a))
	a.Payload = nil
	return a, kr.Current(), sealed
}

// openAction returns the action of stored job arguments with its payload
// opened.
func openAction(kr *seal.Keyring, a connector.Action, keyID, sealed string) (connector.Action, error) {
	if keyID == "" {
		return a, nil
	}
	p, err := kr.OpenText(sealed, argsPlace(&a))
	if err != nil {
		return a, fmt.Errorf("opening job arguments: %w", err)
	}
	a.Payload = p
	return a, nil
}

// JobArgs is River's job table as re-encryption sees it: the sealed
// payloads in outbound jobs' arguments.
type JobArgs struct{ db *sqldb.DB }

// NewJobArgs returns the job arguments table of db.
func NewJobArgs(db *sqldb.DB) *JobArgs { return &JobArgs{db: db} }

// storedArgs is the stored form of any outbound job's arguments.
type storedArgs struct {
	connector.Action
	KeyID  string `json:"kid,omitempty"`
	Sealed string `json:"sealed,omitempty"`
}

// SealedTable implements datakey.Table.
func (j *JobArgs) SealedTable() string { return "river_job" }

// CountByKey implements datakey.Table: outbound jobs by the data key of
// their payload, "" for plaintext. It reads every job's arguments (River
// keeps finished jobs for a week at most).
func (j *JobArgs) CountByKey(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	after := int64(0)
	for {
		n := 0
		err := j.scan(ctx, j.db.Reader, after, 1000, func(id int64, sa *storedArgs) error {
			after, n = id, n+1
			if sa.KeyID != "" || len(sa.Payload) > 0 { // a job with no payload has nothing to seal
				out[sa.KeyID]++
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("counting jobs by data key: %w", err)
		}
		if n < 1000 {
			return out, nil
		}
	}
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scan calls fn for up to limit outbound jobs after id after, in id
// order.
func (j *JobArgs) scan(ctx context.Context, q querier, after int64, limit int, fn func(id int64, sa *storedArgs) error) error {
	d := j.db.Dialect
	rows, err := q.QueryContext(ctx, d.Rebind(`SELECT id, kind, `+d.JSONText("args")+` FROM river_job WHERE id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind string
		var raw []byte
		if err := rows.Scan(&id, &kind, &raw); err != nil {
			return err
		}
		var sa storedArgs
		if !ourKind(kind) || json.Unmarshal(raw, &sa) != nil {
			continue
		}
		if err := fn(id, &sa); err != nil {
			return err
		}
	}
	return rows.Err()
}

func ourKind(riverKind string) bool {
	for _, k := range riverKinds {
		if k == riverKind {
			return true
		}
	}
	return false
}

// Reseal implements datakey.Table: it seals under the current key the
// payloads of up to limit outbound jobs in id order after cursor, in one
// transaction; the rest of each job's arguments stays as River wrote it.
func (j *JobArgs) Reseal(ctx context.Context, cursor string, limit int) (seal.Batch, error) {
	var b seal.Batch
	after := int64(0)
	if cursor != "" {
		var err error
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return b, fmt.Errorf("re-sealing jobs: bad cursor %q", cursor)
		}
	}
	kr := j.db.Keyring
	cur := kr.Current()
	err := j.db.InTx(ctx, func(tx *sql.Tx) error {
		b = seal.Batch{}
		type upd struct {
			id   int64
			args []byte
		}
		var todo []upd
		seen, last := 0, int64(0)
		err := j.scan(ctx, tx, after, limit, func(id int64, sa *storedArgs) error {
			seen, last = seen+1, id
			if sa.KeyID == cur || (sa.KeyID == "" && len(sa.Payload) == 0) {
				return nil
			}
			a, err := openAction(kr, sa.Action, sa.KeyID, sa.Sealed)
			if err != nil {
				b.Failed++
				b.Err = fmt.Errorf("job %d: %w", id, err)
				return nil
			}
			a, keyID, sealed := sealAction(kr, a)
			raw, err := json.Marshal(storedArgs{Action: a, KeyID: keyID, Sealed: sealed})
			if err != nil {
				return err
			}
			todo = append(todo, upd{id, raw})
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading jobs to re-seal: %w", err)
		}
		if seen == limit {
			b.Next = strconv.FormatInt(last, 10)
		}
		q := j.db.Dialect.Rebind(`UPDATE river_job SET args = ` + j.db.Dialect.JSONParam() + ` WHERE id = ?`)
		for _, u := range todo {
			if _, err := tx.ExecContext(ctx, q, string(u.args), u.id); err != nil {
				return fmt.Errorf("re-sealing job %d: %w", u.id, err)
			}
			b.Moved++
		}
		return nil
	})
	return b, err
}

// fail handles a job whose arguments do not open: a retryable failure
// until its last attempt, then a dead letter of what is in plaintext.
func (q *Queue) fail(ctx context.Context, job *rivertype.JobRow, a connector.Action, err error) error {
	log := q.logger.With(slog.Int64("job_id", job.ID), slog.String("job_kind", a.Kind), slog.Int("attempt", job.Attempt))
	if job.Attempt < job.MaxAttempts {
		q.retries.WithLabelValues(connector.KindLabel(a.Kind)).Inc()
		log.ErrorContext(ctx, "outbound job arguments do not open: will retry", slog.Any("err", err))
		return err
	}
	if derr := q.dead.Record(ctx, job, a, err); derr != nil {
		log.ErrorContext(ctx, "recording dead letter failed", slog.Any("err", derr))
		return errors.Join(err, derr)
	}
	q.deaths.WithLabelValues(connector.KindLabel(a.Kind), "exhausted").Inc()
	log.ErrorContext(ctx, "outbound job is a dead letter", slog.String("reason", "exhausted"), slog.Any("err", err))
	return river.JobCancel(err)
}
