package hub_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

type createdKey struct {
	Key struct {
		ID        string   `json:"id"`
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		RevokedAt *string  `json:"revoked_at"`
	} `json:"key"`
	Secret string `json:"secret"`
}

func TestAPICreateKey(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		for _, tt := range []struct {
			name, body string
			// wantDetail is part of the problem's detail or errors.
			wantDetail string
		}{
			{name: "unknown_scope", body: `{"name":"ci","scopes":["events:write","root"]}`, wantDetail: `unknown scope "root"`},
			{name: "blank_scope", body: `{"name":"ci","scopes":[""]}`, wantDetail: "unknown scope"},
			{name: "no_scopes", body: `{"name":"ci","scopes":[]}`, wantDetail: "scopes"},
			{name: "empty_name", body: `{"name":"","scopes":["admin"]}`, wantDetail: "name"},
			{name: "name_with_space", body: `{"name":"ci bot","scopes":["admin"]}`, wantDetail: "name"},
			{name: "name_too_long", body: `{"name":"` + strings.Repeat("k", 65) + `","scopes":["admin"]}`, wantDetail: "name"},
			{name: "not_json", body: `{"name":`, wantDetail: ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, h, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(tt.body))
				p := wantProblem(t, "POST /v1/keys "+tt.body, status, h, body, http.StatusBadRequest, problem.CodeBadRequest)
				text := p.Detail
				for _, e := range p.Errors {
					text += " " + e.Location + " " + e.Message
				}
				if !strings.Contains(text, tt.wantDetail) {
					t.Errorf("POST /v1/keys %s: got problem %q, want it to mention %q", tt.body, text, tt.wantDetail)
				}
			})
		}
		var keys struct {
			Keys []struct {
				Name string `json:"name"`
			} `json:"keys"`
		}
		a.getJSON(t, "/v1/keys", &keys)
		if len(keys.Keys) != 1 || keys.Keys[0].Name != "test" {
			t.Errorf("keys after refused creations: got %+v, want only the test's admin key", keys.Keys)
		}

		// A valid request makes a key whose secret works, for its scope
		// only.
		status, h, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(`{"name":"reader","scopes":["shipments:read"]}`))
		if status != http.StatusCreated {
			t.Fatalf("creating a key: got %d %s, want 201", status, body)
		}
		var made createdKey
		if err := json.Unmarshal(body, &made); err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
		if made.Key.Name != "reader" || len(made.Key.Scopes) != 1 || made.Key.Scopes[0] != "shipments:read" || made.Secret == "" {
			t.Fatalf("created key: got %+v, want reader with shipments:read and a secret", made)
		}
		reader := &apiHub{hub: a.hub, url: a.url, key: made.Secret}
		if status, _, body := reader.call(t, http.MethodGet, "/v1/shipments", "", nil); status != http.StatusOK {
			t.Errorf("reading with the new key: got %d %s, want 200", status, body)
		}
		status, h, body = reader.call(t, http.MethodGet, "/v1/keys", "", nil)
		wantProblem(t, "listing keys with a shipments:read key", status, h, body, http.StatusForbidden, problem.CodeForbidden)
	})
}

func TestAPIRevokeKey(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		create := func(name string) createdKey {
			t.Helper()
			status, _, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(`{"name":"`+name+`","scopes":["events:write"]}`))
			if status != http.StatusCreated {
				t.Fatalf("creating key %s: got %d %s, want 201", name, status, body)
			}
			var k createdKey
			if err := json.Unmarshal(body, &k); err != nil {
				t.Fatalf("decoding %s: %v", body, err)
			}
			return k
		}
		first, second := create("dup"), create("dup")

		// Two active keys share the name: revoking by name is ambiguous.
		status, h, body := a.call(t, http.MethodDelete, "/v1/keys/dup", "", nil)
		p := wantProblem(t, "revoking an ambiguous name", status, h, body, http.StatusConflict, problem.CodeConflict)
		for _, id := range []string{first.Key.ID, second.Key.ID} {
			if !strings.Contains(p.Detail, id) {
				t.Errorf("ambiguous revoke: got detail %q, want it to name key %s", p.Detail, id)
			}
		}
		var keys struct {
			Keys []struct {
				ID        string  `json:"id"`
				RevokedAt *string `json:"revoked_at"`
			} `json:"keys"`
		}
		a.getJSON(t, "/v1/keys", &keys)
		for _, k := range keys.Keys {
			if k.RevokedAt != nil {
				t.Errorf("after the refused revoke: key %s got revoked, want every key active", k.ID)
			}
		}

		// By id it works; then the name names one active key.
		var revoked struct {
			ID        string  `json:"id"`
			RevokedAt *string `json:"revoked_at"`
		}
		status, _, body = a.call(t, http.MethodDelete, "/v1/keys/"+first.Key.ID, "", nil)
		if status != http.StatusOK {
			t.Fatalf("revoking by id: got %d %s, want 200", status, body)
		}
		if err := json.Unmarshal(body, &revoked); err != nil || revoked.ID != first.Key.ID || revoked.RevokedAt == nil {
			t.Fatalf("revoking by id: got %s (%v), want key %s revoked", body, err, first.Key.ID)
		}
		status, _, body = a.call(t, http.MethodDelete, "/v1/keys/dup", "", nil)
		if err := json.Unmarshal(body, &revoked); status != http.StatusOK || err != nil || revoked.ID != second.Key.ID {
			t.Fatalf("revoking by name with one active key: got %d %s, want 200 and key %s", status, body, second.Key.ID)
		}

		status, h, body = a.call(t, http.MethodDelete, "/v1/keys/nobody", "", nil)
		wantProblem(t, "revoking an unknown key", status, h, body, http.StatusNotFound, problem.CodeNotFound)
	})
}
