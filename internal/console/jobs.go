package console

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
)

// JobsPrefix is the path River's own job UI is served under, when the
// console has one (Options.JobsUI).
const JobsPrefix = Prefix + "/jobs"

// jobsAPIPrefix is where River UI's JSON API lives.
const jobsAPIPrefix = JobsPrefix + "/api/"

// jobsMaxBody bounds the body of a change sent through River UI.
const jobsMaxBody = 64 << 10

// jobChanges are the changes River UI's API may make, each with the audit
// action it is recorded as. A request that could change something and is
// not listed here is refused: a River UI upgrade that adds a change is
// reviewed and listed before the console lets it through.
var jobChanges = []struct {
	pattern string
	action  string
}{
	{"POST /api/jobs/retry", audit.ActionJobsRetried},
	{"POST /api/jobs/cancel", audit.ActionJobsCancelled},
	{"POST /api/jobs/delete", audit.ActionJobsDeleted},
	{"PUT /api/queues/{name}/pause", audit.ActionQueuePaused},
	{"PUT /api/queues/{name}/resume", audit.ActionQueueResumed},
	{"PATCH /api/queues/{name}", audit.ActionQueueUpdated},
}

// jobs serves River UI under JobsPrefix to sessions whose key has the
// admin scope, or, without one, a page that says why there is none.
//
// River UI's pages and reads (GET, HEAD) need only that. Its changes
// (retry, cancel and delete jobs; pause, resume and update queues) cannot
// carry the console's CSRF token: River UI's own script sends them as
// fetch requests with a JSON (or, for retry, text/plain) body and no
// token. They are protected instead by what a browser tells about where a
// request comes from, and refused unless it says this origin:
//   - the session cookie is SameSite=Strict, so another site's request
//     carries no session at all;
//   - net/http's CrossOriginProtection, around the whole console, refuses
//     unsafe requests whose Sec-Fetch-Site is not same-origin (or none), or
//     whose Origin is not this host;
//   - and here, where that lets through requests that carry neither header
//     (it takes them for non-browser clients), a change must carry one of
//     them and it must say this origin (sameOrigin). Every browser River
//     UI supports sends Origin with a fetch whose method is not GET or
//     HEAD, and Sec-Fetch-Site with every request.
//
// A change that River UI carries out is recorded in the audit trail as
// the session's key; its answer is held back until the entry is written.
func (c *Console) jobs() http.Handler {
	if c.opts.JobsUI == nil {
		return c.authed(apikey.Admin, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNotFound)
			c.render(w, r, "jobs", viewerFrom(r), map[string]any{"Title": "Jobs"})
		})
	}
	changes := http.NewServeMux()
	for _, ch := range jobChanges {
		method, path, _ := strings.Cut(ch.pattern, " ")
		changes.Handle(method+" "+JobsPrefix+path, c.jobChange(ch.action))
	}
	changes.HandleFunc(JobsPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, viewerFrom(r), http.StatusMethodNotAllowed, "The console does not let River UI make this change.")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.admit(w, r)
		if !ok {
			return
		}
		if !v.Key.Has(apikey.Admin) {
			c.fail(w, r, v, http.StatusForbidden, "Your key ("+v.Key.Name+") lacks the admin scope this needs.")
			return
		}
		r = r.WithContext(withViewer(r.Context(), v))
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			c.opts.JobsUI.ServeHTTP(w, r)
			return
		}
		if !sameOrigin(r) {
			c.fail(w, r, v, http.StatusForbidden, "This change did not come from the console's own page.")
			return
		}
		changes.ServeHTTP(w, r)
	})
}

// jobChange passes one change to River UI and, when River UI carried it
// out, records it as action in the audit trail before answering.
func (c *Console) jobChange(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewerFrom(r)
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, jobsMaxBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.fail(w, r, v, http.StatusRequestEntityTooLarge, "This change is too large.")
			return
		}
		if err != nil {
			c.fail(w, r, v, http.StatusBadRequest, "The change could not be read.")
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		rec := &recorder{header: http.Header{}}
		c.opts.JobsUI.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if rec.status < 300 {
			if err := c.recordJobChange(r, v, action, body); err != nil {
				c.logger.ErrorContext(r.Context(), "recording a change made in river ui failed", slog.String("action", action), slog.Any("err", err))
				c.fail(w, r, v, http.StatusInternalServerError, "The change was made but could not be recorded in the audit trail; it has been logged.")
				return
			}
			c.logger.InfoContext(r.Context(), "change made in river ui", slog.String("action", action),
				slog.String(apikey.AttrKeyName, v.Key.Name), slog.String("path", r.URL.Path))
		}
		for k, vs := range rec.header {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// jobChangeDetails are the details of an audit entry of a River UI change.
type jobChangeDetails struct {
	// Path is the River UI API path, below JobsPrefix.
	Path string `json:"path"`
	// Request is the change's JSON body as sent, when it had one.
	Request json.RawMessage `json:"request,omitempty"`
}

// recordJobChange appends the audit entry of a change River UI made. The
// subject is the queue's name or the job ids.
func (c *Console) recordJobChange(r *http.Request, v *viewer, action string, body []byte) error {
	if c.opts.Audit == nil {
		return nil
	}
	d := jobChangeDetails{Path: strings.TrimPrefix(r.URL.Path, JobsPrefix)}
	var req struct {
		IDs []json.RawMessage `json:"ids"`
	}
	if json.Valid(body) {
		d.Request = body
		_ = json.Unmarshal(body, &req)
	}
	subject := r.PathValue("name")
	if subject == "" {
		ids := make([]string, 0, len(req.IDs))
		for _, id := range req.IDs {
			var s string
			if json.Unmarshal(id, &s) != nil {
				s = string(id)
			}
			ids = append(ids, s)
		}
		subject = strings.Join(ids, ",")
	}
	_, err := c.opts.Audit.Append(r.Context(), audit.Record{Actor: "key:" + v.Key.Name, Action: action, Subject: subject, Details: d})
	return err
}

// sameOrigin reports whether r says it comes from a page of this origin:
// Sec-Fetch-Site is same-origin or, from a browser that sends no
// Sec-Fetch-Site, Origin names this host. A request with neither says
// nothing and is not taken as same-origin.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == r.Host
}

// isJobsAPI reports whether r is a call to River UI's JSON API, whose
// refusals are JSON for River UI to show.
func isJobsAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, jobsAPIPrefix) }

// failJSON answers a River UI API call with status and msg in the form
// River UI shows ({"message": …}).
func failJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
