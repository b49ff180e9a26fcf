package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustZone(t *testing.T, name string) Zone {
	t.Helper()
	z, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// TestLoadParsedValues loads each key held parsed from a file and from the
// environment, and checks the parsed value.
func TestLoadParsedValues(t *testing.T) {
	t.Parallel()
	amsterdam, la := mustZone(t, "Europe/Amsterdam"), mustZone(t, "America/Los_Angeles")
	tests := []struct {
		name    string
		file    string
		environ []string
		want    func(*Config)
	}{
		{
			name: "operating hours and zone from the file",
			file: "billing:\n  operating_hours: 22:00-06:00\n  timezone: Europe/Amsterdam\n",
			want: func(c *Config) {
				c.Billing.OperatingHours = OperatingHours{From: 22 * 60, To: 6 * 60}
				c.Billing.Timezone = amsterdam
			},
		},
		{
			name:    "operating hours and zone from the environment",
			environ: []string{"WAYBILL_BILLING_OPERATING_HOURS=00:00-24:00", "WAYBILL_BILLING_TIMEZONE=America/Los_Angeles"},
			want: func(c *Config) {
				c.Billing.OperatingHours = OperatingHours{From: 0, To: 24 * 60}
				c.Billing.Timezone = la
			},
		},
		{
			name: "reconciliation schedule from the file",
			file: "reconcile:\n  cutoff: \"20:30\"\n  timezone: Europe/Amsterdam\n  warehouses: [WH=22:00, \"LA = 18:00@America/Los_Angeles\"]\n",
			want: func(c *Config) {
				c.Reconcile.Cutoff = TimeOfDay{Minutes: 20*60 + 30}
				c.Reconcile.Timezone = amsterdam
				c.Reconcile.Warehouses = []ReconcileWarehouse{{Name: "WH", Cutoff: TimeOfDay{Minutes: 22 * 60}}, {Name: "LA", Cutoff: TimeOfDay{Minutes: 18 * 60}, Timezone: la}}
			},
		},
		{
			name: "lists from the file",
			file: `workflow:
  milestone_intervals: [shipment.arrived=15m, "shipment.delivered = 90s"]
connectors:
  odoo:
    service_products: ["fuel = FUEL-SURCHARGE", detention=DET]
    policies:
      - customer=odoo:res.partner/42 warehouse=WH backorder=cancel
      - invoice_state=posted
`,
			want: func(c *Config) {
				c.Workflow.MilestoneIntervals = []MilestoneInterval{{"shipment.arrived", 15 * time.Minute}, {"shipment.delivered", 90 * time.Second}}
				c.Connectors.Odoo.ServiceProducts = []ServiceProduct{{"fuel", "FUEL-SURCHARGE"}, {"detention", "DET"}}
				c.Connectors.Odoo.Policies = []OdooPolicy{
					{Customer: "odoo:res.partner/42", Warehouse: "WH", Backorder: "cancel"},
					{InvoiceState: "posted"},
				}
			},
		},
		{
			name: "lists from the environment",
			environ: []string{
				"WAYBILL_WORKFLOW_MILESTONE_INTERVALS=shipment.arrived=15m, shipment.departed=1h",
				"WAYBILL_CONNECTORS_ODOO_SERVICE_PRODUCTS=lumper=LUMP,",
				"WAYBILL_CONNECTORS_ODOO_POLICIES=warehouse=WH2 invoice_state=draft",
				"WAYBILL_JOBS_LANES=low=8, background=1",
			},
			want: func(c *Config) {
				c.Jobs.Lanes = []JobLane{{"low", 8}, {"background", 1}}
				c.Workflow.MilestoneIntervals = []MilestoneInterval{{"shipment.arrived", 15 * time.Minute}, {"shipment.departed", time.Hour}}
				c.Connectors.Odoo.ServiceProducts = []ServiceProduct{{"lumper", "LUMP"}}
				c.Connectors.Odoo.Policies = []OdooPolicy{{Warehouse: "WH2", InvoiceState: "draft"}}
			},
		},
		{
			name:    "empty lists",
			file:    "workflow:\n  milestone_intervals: []\n",
			environ: []string{"WAYBILL_CONNECTORS_ODOO_POLICIES="},
			want:    func(*Config) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			got, err := Load(path, tt.environ)
			if err != nil {
				t.Fatalf("Load() error: %v", err)
			}
			want := Default()
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load() differs (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("zone location", func(t *testing.T) {
		t.Parallel()
		got, err := Load(writeConfig(t, "billing:\n  timezone: Europe/Amsterdam\n"), nil)
		if err != nil {
			t.Fatalf("Load() error: %v", err)
		}
		noon := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC).In(got.Billing.Timezone.Location())
		if h := noon.Hour(); h != 14 {
			t.Errorf("12:00 UTC on 1 July is %d:00 in the loaded zone, want 14:00 (CEST)", h)
		}
	})
}

// TestLoadRefusesBadValues checks that Load refuses each bad value of a key
// held parsed, with one error naming the key (and the line or variable)
// for each bad value.
func TestLoadRefusesBadValues(t *testing.T) {
	t.Parallel()
	const milestones = "must be one of shipment.departed, shipment.delayed, shipment.arrived, shipment.delivered, shipment.exception or shipment.returned"
	type fieldErr struct {
		Key  string
		Line int
		Env  string
		Msg  string
	}
	tests := []struct {
		name    string
		file    string
		environ []string
		want    []fieldErr
	}{
		{
			name: "operating hours syntax",
			file: "billing:\n  operating_hours: 6-20\n",
			want: []fieldErr{{Key: "billing.operating_hours", Line: 2, Msg: `"6-20": want HH:MM-HH:MM`}},
		},
		{
			name: "reconcile cut-off syntax",
			file: "reconcile:\n  cutoff: \"8pm\"\n",
			want: []fieldErr{{Key: "reconcile.cutoff", Line: 2, Msg: `"8pm": want a time of day HH:MM, 00:00 to 24:00`}},
		},
		{
			name: "reconcile warehouse entries",
			file: "reconcile:\n  warehouses: [WH, \"WH/Stock=20:00\", \"LA=18:00@Pacific\", \"NY=25:00\"]\n",
			want: []fieldErr{
				{Key: "reconcile.warehouses", Line: 2, Msg: `entry "WH" must be NAME=HH:MM or NAME=HH:MM@Zone, such as CHI=20:00@America/Chicago`},
				{Key: "reconcile.warehouses", Line: 2, Msg: `entry "WH/Stock=20:00": the warehouse name must be 1 to 100 characters without / = or @`},
				{Key: "reconcile.warehouses", Line: 2, Msg: `entry "LA=18:00@Pacific": unknown time zone "Pacific"; use an IANA name such as Europe/Amsterdam`},
				{Key: "reconcile.warehouses", Line: 2, Msg: `entry "NY=25:00": "25:00": want a time of day HH:MM, 00:00 to 24:00`},
			},
		},
		{
			name: "operating hours without a span",
			file: "billing:\n  operating_hours: \"08:00-08:00\"\n",
			want: []fieldErr{{Key: "billing.operating_hours", Line: 2, Msg: `"08:00-08:00": empty span`}},
		},
		{
			name: "operating hours as a list",
			file: "billing:\n  operating_hours: [06:00, 20:00]\n",
			want: []fieldErr{{Key: "billing.operating_hours", Line: 2, Msg: "must be a string, got a list"}},
		},
		{
			name:    "operating hours from the environment",
			environ: []string{"WAYBILL_BILLING_OPERATING_HOURS=nine-five"},
			want:    []fieldErr{{Key: "billing.operating_hours", Env: "WAYBILL_BILLING_OPERATING_HOURS", Msg: `"nine-five": want HH:MM-HH:MM`}},
		},
		{
			name: "unknown zone",
			file: "billing:\n  timezone: Mars/Olympus\n",
			want: []fieldErr{{Key: "billing.timezone", Line: 2, Msg: `unknown time zone "Mars/Olympus"; use an IANA name such as Europe/Amsterdam`}},
		},
		{
			name:    "empty zone from the environment",
			environ: []string{"WAYBILL_BILLING_TIMEZONE="},
			want:    []fieldErr{{Key: "billing.timezone", Env: "WAYBILL_BILLING_TIMEZONE", Msg: `unknown time zone ""; use an IANA name such as Europe/Amsterdam`}},
		},
		{
			name: "milestone intervals, each bad entry",
			file: "workflow:\n  milestone_intervals:\n    - shipment.arrived=15m\n    - shipment.arrived\n    - shipment.loaded=1m\n    - shipment.departed=-5m\n",
			want: []fieldErr{
				{Key: "workflow.milestone_intervals", Line: 4, Msg: `entry "shipment.arrived" must be type=duration, such as shipment.arrived=15m`},
				{Key: "workflow.milestone_intervals", Line: 5, Msg: `entry "shipment.loaded=1m": "shipment.loaded" is not a milestone; ` + milestones},
				{Key: "workflow.milestone_intervals", Line: 6, Msg: `entry "shipment.departed=-5m": the interval must be positive, such as shipment.arrived=15m`},
			},
		},
		{
			name: "milestone interval set twice",
			file: "workflow:\n  milestone_intervals: [shipment.arrived=15m, shipment.arrived=1h]\n",
			want: []fieldErr{{Key: "workflow.milestone_intervals", Line: 2, Msg: `sets "shipment.arrived" more than once`}},
		},
		{
			name: "milestone intervals as a string",
			file: "workflow:\n  milestone_intervals: shipment.arrived=15m\n",
			want: []fieldErr{{Key: "workflow.milestone_intervals", Line: 2, Msg: `must be a list of strings, such as [a, b], got "shipment.arrived=15m"`}},
		},
		{
			name:    "milestone interval from the environment",
			environ: []string{"WAYBILL_WORKFLOW_MILESTONE_INTERVALS=shipment.arrived=soon"},
			want:    []fieldErr{{Key: "workflow.milestone_intervals", Env: "WAYBILL_WORKFLOW_MILESTONE_INTERVALS", Msg: `entry "shipment.arrived=soon" must be type=duration, such as shipment.arrived=15m`}},
		},
		{
			name: "lanes, each bad entry",
			file: "jobs:\n  lanes:\n    - low=2\n    - low\n    - critical=32\n    - bulk=1\n    - background=0\n",
			want: []fieldErr{
				{Key: "jobs.lanes", Line: 4, Msg: `entry "low" must be lane=workers, such as low=4`},
				{Key: "jobs.lanes", Line: 5, Msg: `entry "critical=32": the critical lane's workers are jobs.workers`},
				{Key: "jobs.lanes", Line: 6, Msg: `entry "bulk=1": unknown lane "bulk"; must be one of low or background`},
				{Key: "jobs.lanes", Line: 7, Msg: `entry "background=0": workers must be at least 1`},
			},
		},
		{
			name: "lane set twice",
			file: "jobs:\n  lanes: [low=2, low=3]\n",
			want: []fieldErr{{Key: "jobs.lanes", Line: 2, Msg: `sets "low" more than once`}},
		},
		{
			name: "service products, each bad entry",
			file: "connectors:\n  odoo:\n    service_products:\n      - detention\n      - waiting=WAIT\n      - fuel=\n",
			want: []fieldErr{
				{Key: "connectors.odoo.service_products", Line: 4, Msg: `entry "detention" must be type=CODE, such as detention=DETENTION`},
				{Key: "connectors.odoo.service_products", Line: 5, Msg: `entry "waiting=WAIT": unknown charge type "waiting"; must be ` + orList(ChargeTypes)},
				{Key: "connectors.odoo.service_products", Line: 6, Msg: `entry "fuel=" must be type=CODE, such as detention=DETENTION`},
			},
		},
		{
			name: "service product mapped twice",
			file: "connectors:\n  odoo:\n    service_products: [fuel=A, fuel = B]\n",
			want: []fieldErr{{Key: "connectors.odoo.service_products", Line: 3, Msg: `maps "fuel" more than once`}},
		},
		{
			name:    "service product from the environment",
			environ: []string{"WAYBILL_CONNECTORS_ODOO_SERVICE_PRODUCTS=fuel=FREIGHT,tip=TIP"},
			want:    []fieldErr{{Key: "connectors.odoo.service_products", Env: "WAYBILL_CONNECTORS_ODOO_SERVICE_PRODUCTS", Msg: `entry "tip=TIP": unknown charge type "tip"; must be ` + orList(ChargeTypes)}},
		},
		{
			name: "policies, each bad entry",
			file: "connectors:\n  odoo:\n    policies:\n      - customer=x carrier=y backorder=cancel\n      - customer=x\n      - warehouse=WH backorder=keep\n      - customer\n",
			want: []fieldErr{
				{Key: "connectors.odoo.policies", Line: 4, Msg: `entry "customer=x carrier=y backorder=cancel": unknown key "carrier": want customer, warehouse, backorder or invoice_state`},
				{Key: "connectors.odoo.policies", Line: 5, Msg: `entry "customer=x": sets neither backorder nor invoice_state`},
				{Key: "connectors.odoo.policies", Line: 6, Msg: `entry "warehouse=WH backorder=keep": backorder "keep": must be create or cancel`},
				{Key: "connectors.odoo.policies", Line: 7, Msg: `entry "customer": "customer" is not key=value`},
			},
		},
		{
			name:    "policy from the environment",
			environ: []string{"WAYBILL_CONNECTORS_ODOO_POLICIES=invoice_state=sent"},
			want:    []fieldErr{{Key: "connectors.odoo.policies", Env: "WAYBILL_CONNECTORS_ODOO_POLICIES", Msg: `entry "invoice_state=sent": invoice_state "sent": must be draft or posted`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			cfg, err := Load(path, tt.environ)
			fes := fieldErrors(t, err)
			got := make([]fieldErr, len(fes))
			for i, fe := range fes {
				got[i] = fieldErr{Key: fe.Key, Line: fe.Line, Env: fe.Env, Msg: fe.Msg}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load() errors differ (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(Config{}, cfg); diff != "" {
				t.Errorf("Load() returned a configuration with its error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParsedValuesText checks that each type held parsed writes itself in the
// syntax it reads, canonically, and reads that back to the same value.
func TestParsedValuesText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		value    interface {
			UnmarshalText([]byte) error
			String() string
		}
	}{
		{"06:00-20:00", "06:00-20:00", new(OperatingHours)},
		{" 6:05 - 24:00", "06:05-24:00", new(OperatingHours)},
		{"22:30-06:00", "22:30-06:00", new(OperatingHours)},
		{"UTC", "UTC", new(Zone)},
		{"Europe/Amsterdam", "Europe/Amsterdam", new(Zone)},
		{"shipment.arrived=15m", "shipment.arrived=15m", new(MilestoneInterval)},
		{" shipment.delayed = 90s", "shipment.delayed=1m30s", new(MilestoneInterval)},
		{"shipment.returned=2h", "shipment.returned=2h", new(MilestoneInterval)},
		{"detention=DETENTION", "detention=DETENTION", new(ServiceProduct)},
		{"low=4", "low=4", new(JobLane)},
		{" background = 1", "background=1", new(JobLane)},
		{"fuel = FUEL SURCHARGE", "fuel=FUEL SURCHARGE", new(ServiceProduct)},
		{"backorder=cancel customer=odoo:res.partner/42", "customer=odoo:res.partner/42 backorder=cancel", new(OdooPolicy)},
		{"invoice_state=posted  warehouse=WH", "warehouse=WH invoice_state=posted", new(OdooPolicy)},
		{`accent_color=#fb3 customer=odoo:res.partner/7  name="Acme \"Retail\"" logo_url=https://cdn.example/a.png primary_color=#0A3D62`,
			`customer=odoo:res.partner/7 name="Acme \"Retail\"" logo_url=https://cdn.example/a.png primary_color=#0A3D62 accent_color=#fb3`, new(TrackingBranding)},
		{"customer=c1", "customer=c1", new(TrackingBranding)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if err := tt.value.UnmarshalText([]byte(tt.in)); err != nil {
				t.Fatalf("UnmarshalText(%q) error: %v", tt.in, err)
			}
			got := tt.value.String()
			if got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			again := reflect.New(reflect.TypeOf(tt.value).Elem()).Interface().(interface{ UnmarshalText([]byte) error })
			if err := again.UnmarshalText([]byte(got)); err != nil {
				t.Fatalf("UnmarshalText(%q) of the written value error: %v", got, err)
			}
			if diff := cmp.Diff(tt.value, again); diff != "" {
				t.Errorf("the written value reads back differently (-first +again):\n%s", diff)
			}
		})
	}
}

// parsedFile sets every key held parsed to a value other than its default.
const parsedFile = `workflow:
  milestone_intervals: [shipment.arrived=15m, shipment.delivered=1h30m]
billing:
  operating_hours: 22:00-06:00
  timezone: Europe/Amsterdam
connectors:
  odoo:
    service_products: [fuel=FUEL-SURCHARGE, detention=DET]
    policies: ["customer=odoo:res.partner/42 backorder=cancel", "warehouse=WH invoice_state=posted"]
tracking_page:
  timezone: Europe/Berlin
  branding: ['customer=odoo:res.partner/7 name="Acme Retail" primary_color=#0a3d62']
`

// TestParsedValuesPrinted checks that where a loaded configuration is written
// out (as JSON, which the audit trail records, and as YAML by the config
// file renderer behind Example), the keys held parsed are written in the
// syntax of the file, and that the written file loads back to the same
// configuration.
func TestParsedValuesPrinted(t *testing.T) {
	t.Parallel()
	cfg, err := Load(writeConfig(t, parsedFile), nil)
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}

	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Workflow struct {
				MilestoneIntervals []string `json:"milestone_intervals"`
			} `json:"workflow"`
			Billing struct {
				OperatingHours string `json:"operating_hours"`
				Timezone       string `json:"timezone"`
			} `json:"billing"`
			Connectors struct {
				Odoo struct {
					ServiceProducts []string `json:"service_products"`
					Policies        []string `json:"policies"`
				} `json:"odoo"`
			} `json:"connectors"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("decoding %s: %v", out, err)
		}
		checks := []struct {
			key       string
			got, want any
		}{
			{"workflow.milestone_intervals", got.Workflow.MilestoneIntervals, []string{"shipment.arrived=15m", "shipment.delivered=1h30m"}},
			{"billing.operating_hours", got.Billing.OperatingHours, "22:00-06:00"},
			{"billing.timezone", got.Billing.Timezone, "Europe/Amsterdam"},
			{"connectors.odoo.service_products", got.Connectors.Odoo.ServiceProducts, []string{"fuel=FUEL-SURCHARGE", "detention=DET"}},
			{"connectors.odoo.policies", got.Connectors.Odoo.Policies, []string{"customer=odoo:res.partner/42 backorder=cancel", "warehouse=WH invoice_state=posted"}},
		}
		for _, c := range checks {
			if diff := cmp.Diff(c.want, c.got); diff != "" {
				t.Errorf("%s in JSON differs (-want +got):\n%s", c.key, diff)
			}
		}
		var back Config
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("decoding %s into a Config: %v", out, err)
		}
		if diff := cmp.Diff(cfg, back); diff != "" {
			t.Errorf("JSON read back differs (-want +got):\n%s", diff)
		}
	})

	t.Run("YAML", func(t *testing.T) {
		t.Parallel()
		v := reflect.ValueOf(cfg)
		keys := Keys()
		for i, l := range leaves() {
			keys[i].Default = renderValue(v.FieldByIndex(l.index), l.kind)
		}
		file := renderExample(keys, func(string) string { return "" })
		for _, line := range []string{
			`  milestone_intervals: ["shipment.arrived=15m", "shipment.delivered=1h30m"]`,
			`  operating_hours: "22:00-06:00"`,
			`  timezone: "Europe/Amsterdam"`,
			`    service_products: ["fuel=FUEL-SURCHARGE", "detention=DET"]`,
			`    policies: ["customer=odoo:res.partner/42 backorder=cancel", "warehouse=WH invoice_state=posted"]`,
		} {
			if !strings.Contains(file, "\n"+line+"\n") {
				t.Errorf("written file lacks the line %q:\n%s", line, file)
			}
		}
		back, err := Load(writeConfig(t, file), nil)
		if err != nil {
			t.Fatalf("Load() of the written file error: %v\n%s", err, file)
		}
		if diff := cmp.Diff(cfg, back); diff != "" {
			t.Errorf("written file loads differently (-want +got):\n%s", diff)
		}
	})
}

func TestTrackingBrandingRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`name="Acme"`, `entry "name=\"Acme\"": needs a customer, such as customer=odoo:res.partner/7`},
		{`customer=c1 colour=#fff`, `entry "customer=c1 colour=#fff": unknown key "colour": want customer, name, logo_url, primary_color or accent_color`},
		{`customer=c1 name="Acme`, `entry "customer=c1 name=\"Acme": the value of name has no closing quote`},
		{`customer=c1 primary_color=#12345`, `entry "customer=c1 primary_color=#12345": primary_color "#12345" must be #rgb or #rrggbb`},
		{`customer=c1 accent_color=red`, `entry "customer=c1 accent_color=red": accent_color "red" must be #rgb or #rrggbb`},
		{`customer=c1 logo_url=javascript:alert(1)`, `entry "customer=c1 logo_url=javascript:alert(1)": logo_url "javascript:alert(1)" must be an absolute https URL without credentials`},
		{`customer=c1 logo_url=https://u:p@cdn.example/l.png`, `entry "customer=c1 logo_url=https://u:p@cdn.example/l.png": logo_url "https://u:p@cdn.example/l.png" must be an absolute https URL without credentials`},
		{`customer=c1 customer=c2`, `entry "customer=c1 customer=c2": sets customer more than once`},
		{`customer`, `entry "customer": "customer" is not key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var b TrackingBranding
			err := b.UnmarshalText([]byte(tt.in))
			if err == nil {
				t.Fatalf("UnmarshalText(%q) = %+v, want an error", tt.in, b)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("UnmarshalText(%q) error:\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}
