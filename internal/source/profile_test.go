package source_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/source"
)

func TestLoadProfiles(t *testing.T) {
	dir := t.TempDir()
	mapping, err := os.ReadFile("../tracking/jsonmap/testdata/ternvalley.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tern.yaml"), mapping, 0o600); err != nil {
		t.Fatal(err)
	}
	good := `sources:
  - id: xktl
    format: x12
    auth: {scheme: api_key}
    currency: USD
    charge_codes: {FSC: fuel}
  - id: tern
    format: json
    mapping: tern.yaml
    auth: {scheme: standard_webhooks, secrets_env: [TERN_OLD, TERN_NEW], tolerance: 2m}
    timezone: America/Denver
    status_codes: {OFD: out_for_delivery}
  - id: ridgeback
    format: easypost
    auth: {scheme: easypost, secrets: [s3cret]}
    weight_unit: lb
`
	path := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"TERN_OLD=whsec_Zml4dHVyZS1vbmx5LXN0YW5kYXJkLXdlYmhvb2tzISE=", "TERN_NEW=whsec_bmV3LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA=="}
	ps, err := source.LoadFile(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ps.All()); got != 3 {
		t.Fatalf("loaded %d profiles", got)
	}
	tern := ps.Get("tern")
	if tern.Mapping == nil || len(tern.Auth.Secrets) != 2 || tern.Partner.Zone != "America/Denver" || tern.Partner.StatusCodes["OFD"] != "out_for_delivery" {
		t.Errorf("tern: %+v", tern)
	}
	if v, err := tern.Verifier(nil); err != nil || v == nil {
		t.Errorf("tern verifier: %v", err)
	}
	if ps.Get("xktl").Partner.ChargeCodes["FSC"] != "fuel" || !ps.Get("xktl").EDI() {
		t.Error("xktl partner settings lost")
	}

	bad := `sources:
  - id: Bad Id
    format: x12
    auth: {scheme: api_key}
  - id: nosecret
    format: easypost
    auth: {scheme: easypost}
  - id: three
    format: aftership
    auth: {scheme: aftership, secrets: [a, b, c]}
  - id: zone
    format: x12
    auth: {scheme: api_key}
    timezone: Mars/Olympus
    status_codes: {X6: moving}
    charge_codes: {FUE: petrol}
  - id: nomap
    format: json
    auth: {scheme: api_key}
  - id: envless
    format: aftership
    auth: {scheme: aftership, secrets_env: [NOT_SET]}
  - id: hmacedi
    format: x12
    auth: {scheme: easypost, secrets: [x]}
  - id: unknownkey
    format: x12
    colour: blue
    auth: {scheme: api_key}
  - id: nosecret
    format: x12
    auth: {scheme: api_key}
  - id: fmt
    format: csv
    auth: {scheme: token}
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = source.LoadFile(path, nil)
	if err == nil {
		t.Fatal("a bad file loaded")
	}
	msg := err.Error()
	for _, want := range []string{
		`sources.yaml:2: sources[0].id: must be 1 to 63 lower-case`,
		`sources.yaml:26: sources[7]: field colour not found`,
		`sources.yaml:5: nosecret.auth.secrets: easypost needs one secret`,
		`sources.yaml:8: three.auth.secrets: at most two secrets`,
		`zone.timezone: unknown IANA time zone "Mars/Olympus"`,
		`zone.status_codes.X6: "moving" is not a canonical status`,
		`zone.charge_codes.FUE: must be one of`,
		`nomap.mapping: a json source needs a mapping file`,
		`envless.auth.secrets_env: environment variable NOT_SET is not set`,
		`hmacedi.auth.scheme: EDI sources authenticate with api_key`,
		`nosecret.id: defined twice (first at line 5)`,
		`fmt.format: must be one of easypost, aftership, project44, json, x12, edifact, pod_app, got "csv"`,
		`fmt.auth.scheme: must be one of api_key`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	var fe *source.FileError
	if !errors.As(err, &fe) {
		t.Errorf("not a *FileError: %T", err)
	}
	if _, err := source.Load([]byte("sources: []\n"), "empty.yaml", nil); !errors.Is(err, source.ErrNoSources) {
		t.Errorf("empty file: %v", err)
	}
}

func TestDefaultProfile(t *testing.T) {
	p, err := source.DefaultProfile(source.FormatX12, "America/Chicago")
	if err != nil || p.Partner.Zone != "America/Chicago" {
		t.Fatalf("x12: %+v %v", p, err)
	}
	if _, err := source.DefaultProfile(source.FormatJSON, ""); err == nil {
		t.Error("json without a mapping got a default profile")
	}
	if _, err := source.DefaultProfile("csv", ""); err == nil {
		t.Error("unknown format got a default profile")
	}
	if _, err := p.WithZone("Nowhere/Else"); err == nil {
		t.Error("bad zone accepted")
	}
}

// TestAckFromOwnID checks that a 997 is sent under the X12 id the profile
// configures for Waybill, not the one the partner happened to address.
func TestAckFromOwnID(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("../edi/x12/testdata/x12-214-01-in-transit.edi") // addressed to ZZ*LARKSPURSUP
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ name, config, isa, gs string }{
		{"configured id", "x12: {interchange_id: WAYBILLHUB, qualifier: '01'}", "*01*WAYBILLHUB     *02*XKTL           *", "GS*FA*WAYBILLHUB*XKTL*"},
		{"configured id, default qualifier", "x12: {interchange_id: WAYBILLHUB}", "*ZZ*WAYBILLHUB     *02*XKTL           *", "GS*FA*WAYBILLHUB*XKTL*"},
		{"no id: as addressed", "", "*ZZ*LARKSPURSUP    *02*XKTL           *", "GS*FA*LARKSPURSUP*XKTL*"},
	} {
		ps, err := source.Load([]byte("sources:\n  - id: xktl\n    format: x12\n    auth: {scheme: api_key}\n    "+tt.config+"\n"), "sources.yaml", nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		m, err := ps.Get("xktl").Map(body, source.Control{InterchangeControl: 7, GroupControl: 7, Time: at})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		ack := string(m.Ack)
		if !strings.HasPrefix(ack, "ISA*00*          *00*          "+tt.isa) || !strings.Contains(ack, "~"+tt.gs) {
			t.Errorf("%s: got 997 %q, want ISA …%s and %s", tt.name, ack, tt.isa, tt.gs)
		}
	}
}
