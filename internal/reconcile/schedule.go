package reconcile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Schedule says when one warehouse's business day ends.
type Schedule struct {
	// Warehouse is the warehouse the schedule reconciles; empty
	// reconciles every warehouse together.
	Warehouse string
	// Cutoff is when the business day ends, as time after local midnight:
	// more than 0, at most 24h. Day D runs from D−1 at Cutoff to D at
	// Cutoff; 24h (the default) is the calendar day.
	Cutoff time.Duration
	// Location is the warehouse's time zone. Defaults to Options.Location.
	Location *time.Location
}

// Triggers say what started a run.
const (
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
	TriggerRecovery = "recovery"
)

// Triggers lists every trigger. The caller owns the slice.
func Triggers() []string { return []string{TriggerManual, TriggerSchedule, TriggerRecovery} }

// Run is one run of a day, as its record remembers it.
type Run struct {
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger"`
	// Cause says why a recovery ran, such as "odoo unreachable for 42m".
	Cause       string `json:"cause,omitempty"`
	Differences int    `json:"differences"`
	// Healed and Reviews count the differences healed and those left to a
	// person.
	Healed  int `json:"healed"`
	Reviews int `json:"reviews"`
	// OdooCalls is the calls to Odoo the run made.
	OdooCalls int `json:"odoo_calls"`
}

// maxRuns is how many runs a record remembers: the latest.
const maxRuns = 20

// schedule returns the schedule of warehouse: its own, else the one for
// every warehouse, else the calendar day in Options.Location.
func (r *Reconciler) schedule(warehouse string) Schedule {
	def := Schedule{Warehouse: warehouse, Cutoff: 24 * time.Hour, Location: r.opts.Location}
	for _, s := range r.opts.Schedules {
		switch s.Warehouse {
		case warehouse:
			return s
		case "":
			def = s
			def.Warehouse = warehouse
		}
	}
	return def
}

// schedules returns the schedules the scheduled run and recoveries go
// through, each complete: the configured ones, or the calendar day in
// Options.Location for every warehouse together.
func (r *Reconciler) schedules() []Schedule {
	if len(r.opts.Schedules) == 0 {
		return []Schedule{r.schedule("")}
	}
	out := make([]Schedule, len(r.opts.Schedules))
	for i, s := range r.opts.Schedules {
		out[i] = r.schedule(s.Warehouse)
	}
	return out
}

// Bounds returns when the business day date of warehouse begins and ends,
// by its schedule.
func (r *Reconciler) Bounds(date, warehouse string) (from, to time.Time, err error) {
	s := r.schedule(warehouse)
	d, err := time.ParseInLocation("2006-01-02", date, s.Location)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: date %q is not YYYY-MM-DD", ErrInvalid, date)
	}
	return s.end(d.AddDate(0, 0, -1)), s.end(d), nil
}

// end is when the business day of d's date ends. Building the time from
// its fields keeps the local cut-off across daylight-saving changes.
func (s Schedule) end(d time.Time) time.Time {
	y, m, day := d.Date()
	return time.Date(y, m, day, 0, int(s.Cutoff/time.Minute), 0, 0, s.Location)
}

// date is the business day that includes t.
func (s Schedule) date(t time.Time) string {
	t = t.In(s.Location)
	if !t.Before(s.end(t)) {
		t = t.AddDate(0, 0, 1)
	}
	return t.Format("2006-01-02")
}

// Due is a business day whose scheduled run is due.
type Due struct {
	Date      string
	Warehouse string
	// Ended is when the day ended.
	Ended time.Time
}

// due lists, for every schedule, the latest day that ended at least Grace
// before now and the CatchUp days before it, oldest first.
func (r *Reconciler) due(now time.Time) []Due {
	var out []Due
	for _, s := range r.schedules() {
		local := now.In(s.Location)
		var days []Due
		for back := 0; back <= r.opts.CatchUp+2 && len(days) <= r.opts.CatchUp; back++ {
			d := local.AddDate(0, 0, -back)
			end := s.end(d)
			if now.Before(end.Add(r.opts.Grace)) {
				continue
			}
			days = append(days, Due{Date: d.Format("2006-01-02"), Warehouse: s.Warehouse, Ended: end})
		}
		out = append(out, days...)
	}
	slices.SortStableFunc(out, func(a, b Due) int { return a.Ended.Compare(b.Ended) })
	return out
}

// RunDue runs every business day whose cut-off (plus Grace) has passed,
// up to CatchUp days back, that no run has covered since it ended: the
// scheduled end-of-day run, which catches up after downtime. A day already
// decided, or run after it ended (by a person, a recovery or another
// replica), is left alone, and so is a day that ended before Waybill
// recorded its first shipment: a new installation does not report the
// Odoo activity of the days before it as differences. It returns the
// records it ran.
func (r *Reconciler) RunDue(ctx context.Context) ([]*Record, error) {
	first, err := r.firstShipment(ctx)
	if err != nil || first.IsZero() {
		return nil, err
	}
	var out []*Record
	var errs []error
	for _, d := range r.due(r.opts.Now()) {
		if !d.Ended.After(first) {
			continue
		}
		prev, err := r.byDay(ctx, d.Date, d.Warehouse)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return out, err
		case prev.State != StateOpen || !prev.UpdatedAt.Before(d.Ended):
			continue
		}
		rec, err := r.Run(ctx, RunParams{Date: d.Date, Warehouse: d.Warehouse, Trigger: TriggerSchedule})
		if err != nil {
			if errors.Is(err, ErrNoOdoo) {
				return out, err
			}
			// One warehouse's failure does not keep the others waiting;
			// the task is retried for what failed.
			errs = append(errs, fmt.Errorf("reconciling %s %s: %w", d.Date, d.Warehouse, err))
			continue
		}
		out = append(out, rec)
	}
	return out, errors.Join(errs...)
}

// firstShipment returns when the first shipment was recorded; zero when
// none was. Once known it is kept: it never moves later.
func (r *Reconciler) firstShipment(ctx context.Context) (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.first.IsZero() {
		return r.first, nil
	}
	var at sql.NullInt64
	if err := r.opts.DB.Reader.QueryRowContext(ctx, `SELECT MIN(created_at) FROM shipments`).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("finding the first shipment: %w", err)
	}
	if at.Valid {
		r.first = time.UnixMicro(at.Int64).UTC()
	}
	return r.first, nil
}

// RecoverParams is the window an outage touched.
type RecoverParams struct {
	From, To time.Time
	// Cause says what was down, for the record and the log.
	Cause string
}

// Recovery is what a recovery run found: per day and warehouse, what it
// healed and what waits for a person.
type Recovery struct {
	Cause string         `json:"cause"`
	From  time.Time      `json:"from"`
	To    time.Time      `json:"to"`
	Days  []RecoveredDay `json:"days"`
	// Healed and Reviews are the sums over the days.
	Healed  int `json:"healed"`
	Reviews int `json:"reviews"`
}

// RecoveredDay is one day a recovery reconciled.
type RecoveredDay struct {
	ID        string `json:"id"`
	Date      string `json:"date"`
	Warehouse string `json:"warehouse,omitempty"`
	State     string `json:"state"`
	Healed    int    `json:"healed"`
	Reviews   int    `json:"reviews"`
	// Decided is set when the day was approved or rejected before: it was
	// not run again and its reviews stay as decided.
	Decided bool `json:"decided,omitempty"`
}

// MaxRecoveryDays bounds the days one recovery reconciles, per schedule:
// the latest ones.
const MaxRecoveryDays = 31

// Recover reconciles every business day (of every schedule) that the
// window [From, To] touches, the latest MaxRecoveryDays of them, and
// reports what it healed and what needs a person. Days already decided are
// reported as such and left alone. Each day's record remembers the run,
// with the cause.
func (r *Reconciler) Recover(ctx context.Context, p RecoverParams) (*Recovery, error) {
	if p.From.IsZero() || p.To.Before(p.From) {
		return nil, fmt.Errorf("%w: recovery window %s to %s", ErrInvalid, p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
	}
	if r.opts.Odoo == nil {
		return nil, ErrNoOdoo
	}
	out := &Recovery{Cause: p.Cause, From: p.From.UTC(), To: p.To.UTC(), Days: []RecoveredDay{}}
	for _, s := range r.schedules() {
		first, last := s.date(p.From), s.date(p.To)
		var dates []string
		for d := last; d >= first && len(dates) < MaxRecoveryDays; {
			dates = append(dates, d)
			t, _ := time.ParseInLocation("2006-01-02", d, s.Location)
			d = t.AddDate(0, 0, -1).Format("2006-01-02")
		}
		for i := len(dates) - 1; i >= 0; i-- {
			rec, err := r.Run(ctx, RunParams{Date: dates[i], Warehouse: s.Warehouse, Trigger: TriggerRecovery, Cause: p.Cause})
			if err != nil {
				return out, fmt.Errorf("recovering %s %s: %w", dates[i], s.Warehouse, err)
			}
			day := RecoveredDay{ID: rec.ID, Date: rec.Date, Warehouse: rec.Warehouse, State: rec.State, Decided: rec.State != StateOpen}
			if !day.Decided {
				for _, d := range rec.Differences {
					if d.Healed != "" {
						day.Healed++
					} else if d.Review != nil && d.Review.Status == ReviewOpen {
						day.Reviews++
					}
				}
			}
			out.Healed += day.Healed
			out.Reviews += day.Reviews
			out.Days = append(out.Days, day)
		}
	}
	r.opts.Logger.InfoContext(ctx, "reconciliation after an outage", slog.String("cause", p.Cause),
		slog.Time("from", p.From), slog.Time("to", p.To), slog.Int("days", len(out.Days)),
		slog.Int("healed", out.Healed), slog.Int("reviews", out.Reviews))
	return out, nil
}
