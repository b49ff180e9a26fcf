package source

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/source/verify"
	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

// Formats a source profile may name.
const (
	FormatEasyPost  = "easypost"
	FormatAfterShip = "aftership"
	FormatProject44 = "project44"
	FormatJSON      = "json"
	FormatX12       = "x12"
	FormatEDIFACT   = "edifact"
	// FormatPODApp is a driver app's "stop completed" proof of delivery.
	FormatPODApp = "pod_app"
)

// Formats lists the formats, JSON ones first. The caller owns the slice.
func Formats() []string {
	return []string{FormatEasyPost, FormatAfterShip, FormatProject44, FormatJSON, FormatX12, FormatEDIFACT, FormatPODApp}
}

// Authentication schemes of a source profile.
const (
	// AuthAPIKey is a Waybill API key with the events:write scope, sent as
	// a bearer token: for partners and gateways that cannot sign.
	AuthAPIKey = "api_key"
	// AuthEasyPost, AuthAfterShip and AuthStandard are the vendors' HMAC
	// signatures over the raw body, as package verify checks
	// them.
	AuthEasyPost  = "easypost"
	AuthAfterShip = "aftership"
	AuthStandard  = "standard_webhooks"
)

// Profile is one configured source: a carrier, visibility platform or EDI
// partner, how it authenticates, what it sends, and its defaults.
type Profile struct {
	// ID names the source in URLs (/v1/sources/{id}/…) and in the source
	// of the events made from its payloads (/sources/{id}).
	ID string
	// Name is for people.
	Name string
	// Format is one of Formats.
	Format string
	// Auth is how its requests are authenticated.
	Auth Auth
	// Partner holds the defaults and code tables the mappers consult.
	Partner tracking.Partner
	// Mapping turns its JSON payloads into events: the built-in mapping of
	// its format, or the mapping file of a "json" source.
	Mapping *jsonmap.Mapping
	// MappingFile is where Mapping came from, for "json" sources.
	MappingFile string
	// InterchangeID and Qualifier are how this partner addresses Waybill
	// in X12 (ISA07/ISA08); they become the sender of Waybill's 997s.
	// Empty means: answer as whoever the partner addressed.
	InterchangeID, Qualifier string
	// SCAC is the carrier's code, for a carrier Waybill tenders loads to.
	SCAC string
	// TenderDir is the outbox folder of the 204 load tenders of shipments
	// whose carrier is SCAC; empty means no tenders.
	TenderDir string
	// PartnerID and PartnerQualifier are the carrier's own X12 id, the
	// receiver of tenders. Default: its SCAC, qualifier 02.
	PartnerID, PartnerQualifier string
	// Line is where the profile starts in its file.
	Line int
}

// Auth is how a source authenticates.
type Auth struct {
	Scheme string
	// Secrets are the HMAC secrets. Two are valid at once during a
	// rotation: add the new one, let the partner switch, remove the old.
	Secrets []string
	// Tolerance is how far a Standard Webhooks timestamp may be from now.
	Tolerance time.Duration
}

// Profiles are the configured sources, by id. Load them with LoadFile; a
// loaded set is immutable and safe for concurrent use.
type Profiles struct {
	byID  map[string]*Profile
	order []string
}

// Get returns the profile with id, or nil.
func (ps *Profiles) Get(id string) *Profile {
	if ps == nil {
		return nil
	}
	return ps.byID[id]
}

// All returns the profiles in file order. The caller owns the slice.
func (ps *Profiles) All() []*Profile {
	if ps == nil {
		return nil
	}
	out := make([]*Profile, 0, len(ps.order))
	for _, id := range ps.order {
		out = append(out, ps.byID[id])
	}
	return out
}

// FileError is one problem in a sources file.
type FileError struct {
	File string
	Line int
	// Key is the profile's id and field, for example "xktl.auth.secrets".
	Key string
	Msg string
}

func (e *FileError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// ErrNoSources is returned for a sources file that lists none.
var ErrNoSources = errors.New("no sources")

type fileAuth struct {
	Scheme     string   `yaml:"scheme"`
	Secrets    []string `yaml:"secrets"`
	SecretsEnv []string `yaml:"secrets_env"`
	// SecretsFile names files that hold one secret each (mounted
	// secrets), relative to the sources file unless absolute.
	SecretsFile []string `yaml:"secrets_file"`
	Tolerance   string   `yaml:"tolerance"`
}

type fileX12 struct {
	InterchangeID    string `yaml:"interchange_id"`
	Qualifier        string `yaml:"qualifier"`
	SCAC             string `yaml:"scac"`
	TenderDir        string `yaml:"tender_dir"`
	PartnerID        string `yaml:"partner_id"`
	PartnerQualifier string `yaml:"partner_qualifier"`
}

type fileProfile struct {
	ID           string            `yaml:"id"`
	Name         string            `yaml:"name"`
	Format       string            `yaml:"format"`
	Mapping      string            `yaml:"mapping"`
	Auth         fileAuth          `yaml:"auth"`
	Timezone     string            `yaml:"timezone"`
	Currency     string            `yaml:"currency"`
	WeightUnit   string            `yaml:"weight_unit"`
	StatusCodes  map[string]string `yaml:"status_codes"`
	ReasonCodes  map[string]string `yaml:"reason_codes"`
	ChargeCodes  map[string]string `yaml:"charge_codes"`
	SignerRemark string            `yaml:"signer_remark"`
	X12          fileX12           `yaml:"x12"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// LoadFile reads the sources file at path. Secrets named by secrets_env
// are read from environ ("NAME=value" each, as from os.Environ), those
// named by secrets_file from their files (config.ReadSecretFile: one
// trailing newline dropped). Mapping and secret files are relative to the
// sources file. Every problem is reported at
// once, each a *FileError with its line, joined with errors.Join.
func LoadFile(path string, environ []string) (*Profiles, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading sources: %w", err)
	}
	return Load(data, path, environ)
}

// Load is LoadFile on data read from path.
func Load(data []byte, path string, environ []string) (*Profiles, error) {
	var doc struct {
		Sources []yaml.Node `yaml:"sources"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Sources) == 0 {
		return nil, fmt.Errorf("%s: %w: the file must list them under sources:", path, ErrNoSources)
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	ps := &Profiles{byID: map[string]*Profile{}}
	lines := map[string]int{} // id → line of its first profile
	var errs []error
	for i := range doc.Sources {
		n := &doc.Sources[i]
		bad := func(key, format string, args ...any) {
			errs = append(errs, &FileError{File: path, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
		}
		var fp fileProfile
		if err := decodeStrict(n, &fp); err != nil {
			bad(fmt.Sprintf("sources[%d]", i), "%v", err)
			continue
		}
		p, perrs := fp.profile(filepath.Dir(path), env)
		key := fp.ID
		if !idPattern.MatchString(key) {
			key = fmt.Sprintf("sources[%d]", i)
		}
		for _, pe := range perrs {
			bad(key+"."+pe.key, "%s", pe.msg)
		}
		if first, dup := lines[fp.ID]; dup {
			bad(key+".id", "defined twice (first at line %d)", first)
			continue
		}
		lines[fp.ID] = n.Line
		if len(perrs) > 0 {
			continue
		}
		p.Line = n.Line
		ps.byID[p.ID] = p
		ps.order = append(ps.order, p.ID)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ps, nil
}

// decodeStrict decodes n into v, refusing unknown keys.
func decodeStrict(n *yaml.Node, v any) error {
	out, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		// Line numbers are those of the re-encoded node: drop them, the
		// caller reports the profile's own line.
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
					m = rest
				}
				m = strings.TrimSuffix(m, " in type source.fileProfile")
				msgs[i] = m
			}
			return errors.New(strings.Join(msgs, "; "))
		}
		return err
	}
	return nil
}

type fieldProblem struct{ key, msg string }

func (fp *fileProfile) profile(dir string, env map[string]string) (*Profile, []fieldProblem) {
	var probs []fieldProblem
	bad := func(key, format string, args ...any) {
		probs = append(probs, fieldProblem{key, fmt.Sprintf(format, args...)})
	}
	p := &Profile{ID: fp.ID, Name: fp.Name, Format: fp.Format, InterchangeID: fp.X12.InterchangeID, Qualifier: fp.X12.Qualifier,
		SCAC: strings.ToUpper(fp.X12.SCAC), TenderDir: fp.X12.TenderDir, PartnerID: fp.X12.PartnerID, PartnerQualifier: fp.X12.PartnerQualifier}
	if fp.X12 != (fileX12{}) && fp.Format != FormatX12 {
		bad("x12", "only x12 sources take x12 settings")
	}
	if p.TenderDir != "" {
		if !scacPattern.MatchString(p.SCAC) {
			bad("x12.scac", "tender_dir needs the carrier's SCAC (2 to 4 letters or digits), got %q", fp.X12.SCAC)
		}
		if p.InterchangeID == "" {
			bad("x12.interchange_id", "tender_dir needs Waybill's own X12 id, the sender of the tenders")
		}
		if !filepath.IsAbs(p.TenderDir) {
			p.TenderDir = filepath.Join(dir, p.TenderDir)
		}
	}
	if !idPattern.MatchString(fp.ID) {
		bad("id", "must be 1 to 63 lower-case letters, digits, - or _, starting with a letter or digit, got %q", fp.ID)
	}
	if !slices.Contains(Formats(), fp.Format) {
		bad("format", "must be one of %s, got %q", strings.Join(Formats(), ", "), fp.Format)
	}

	// Authentication.
	a := fp.Auth
	p.Auth.Scheme = a.Scheme
	secrets := slices.Clone(a.Secrets)
	for _, name := range a.SecretsEnv {
		v, ok := env[name]
		if !ok || v == "" {
			bad("auth.secrets_env", "environment variable %s is not set", name)
			continue
		}
		secrets = append(secrets, v)
	}
	for _, name := range a.SecretsFile {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		v, err := config.ReadSecretFile(path)
		if err != nil {
			bad("auth.secrets_file", "%v", err)
			continue
		}
		secrets = append(secrets, v.Reveal())
	}
	p.Auth.Secrets = secrets
	envMissing := len(probs) > 0
	if a.Tolerance != "" {
		d, err := time.ParseDuration(a.Tolerance)
		if err != nil || d <= 0 {
			bad("auth.tolerance", "must be a positive duration such as 5m, got %q", a.Tolerance)
		}
		p.Auth.Tolerance = d
	}
	switch a.Scheme {
	case AuthAPIKey:
		if len(secrets) > 0 {
			bad("auth.secrets", "an api_key source authenticates with Waybill API keys (waybill keys create --scopes events:write); remove its secrets")
		}
	case AuthEasyPost, AuthAfterShip, AuthStandard:
		switch {
		case envMissing:
		case len(secrets) == 0:
			bad("auth.secrets", "%s needs one secret, or two during a rotation (secrets, secrets_env or secrets_file)", a.Scheme)
		case len(secrets) > 2:
			bad("auth.secrets", "at most two secrets are valid at once (the old and the new during a rotation), got %d", len(secrets))
		default:
			if _, err := p.Verifier(nil); err != nil {
				bad("auth.secrets", "%v", err)
			}
		}
	default:
		bad("auth.scheme", "must be one of %s, %s, %s or %s, got %q", AuthAPIKey, AuthEasyPost, AuthAfterShip, AuthStandard, a.Scheme)
	}
	if (fp.Format == FormatX12 || fp.Format == FormatEDIFACT) && a.Scheme != AuthAPIKey && a.Scheme != "" {
		bad("auth.scheme", "EDI sources authenticate with api_key (EDI carries no webhook signature)")
	}

	// Partner defaults and code tables.
	pt := tracking.Partner{ID: fp.ID, Zone: fp.Timezone, Currency: fp.Currency, WeightUnit: fp.WeightUnit,
		ReasonCodes: fp.ReasonCodes, ChargeCodes: fp.ChargeCodes, SignerRemark: fp.SignerRemark}
	if fp.Timezone != "" {
		if _, err := time.LoadLocation(fp.Timezone); err != nil {
			bad("timezone", "unknown IANA time zone %q", fp.Timezone)
		}
	}
	if fp.Currency != "" {
		if _, err := money.Exponent(fp.Currency); err != nil {
			bad("currency", "%v", err)
		}
	}
	if fp.WeightUnit != "" {
		if _, err := tracking.ParseWeight("1", fp.WeightUnit, ""); err != nil {
			bad("weight_unit", "unknown weight unit %q (lb, kg, oz, g, t)", fp.WeightUnit)
		}
	}
	if len(fp.StatusCodes) > 0 {
		pt.StatusCodes = make(map[string]tracking.Status, len(fp.StatusCodes))
		for code, st := range fp.StatusCodes {
			if !tracking.Status(st).Valid() {
				bad("status_codes."+code, "%q is not a canonical status", st)
			}
			pt.StatusCodes[code] = tracking.Status(st)
		}
	}
	for code, typ := range fp.ReasonCodes {
		if !slices.Contains(tracking.ExceptionTypes(), typ) && !reasonWord.MatchString(typ) {
			bad("reason_codes."+code, "%q is neither an exception type nor a reason word", typ)
		}
	}
	for code, typ := range fp.ChargeCodes {
		if !slices.Contains(chargeTypes, typ) {
			bad("charge_codes."+code, "must be one of %s, got %q", strings.Join(chargeTypes, ", "), typ)
		}
	}
	p.Partner = pt

	// The mapping of JSON formats.
	switch fp.Format {
	case FormatJSON:
		if fp.Mapping == "" {
			bad("mapping", "a json source needs a mapping file")
			break
		}
		file := fp.Mapping
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		p.MappingFile = file
		data, err := os.ReadFile(file)
		if err != nil {
			bad("mapping", "reading %s: %v", file, err)
			break
		}
		m, err := jsonmap.Load(data)
		if err != nil {
			bad("mapping", "%s: %v", file, err)
			break
		}
		p.Mapping = m
	case FormatEasyPost, FormatAfterShip, FormatProject44:
		if fp.Mapping != "" {
			bad("mapping", "%s has a built-in mapping; use format json to bring your own", fp.Format)
			break
		}
		m, err := jsonmap.Builtin(fp.Format)
		if err != nil {
			bad("format", "%v", err)
			break
		}
		p.Mapping = m
	default:
		if fp.Mapping != "" {
			bad("mapping", "only json sources take a mapping file")
		}
	}
	return p, probs
}

var scacPattern = regexp.MustCompile(`^[A-Z0-9]{2,4}$`)

var reasonWord = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

var chargeTypes = []string{tracking.ChargeLinehaul, tracking.ChargeFuel, tracking.ChargeDetention, tracking.ChargeLiftgate,
	tracking.ChargeResidential, tracking.ChargeInsideDelivery, tracking.ChargeRedelivery, tracking.ChargeLayover,
	tracking.ChargeLumper, tracking.ChargeAccessorial, tracking.ChargeTax, tracking.ChargeDiscount, tracking.ChargeOther}

// Verifier returns the signature verifier of an HMAC source, remembering
// webhook ids in seen (nil: in memory). It returns nil for api_key
// sources.
func (p *Profile) Verifier(seen verify.Seen) (verify.Verifier, error) {
	kind := ""
	switch p.Auth.Scheme {
	case AuthEasyPost:
		kind = verify.KindEasyPost
	case AuthAfterShip:
		kind = verify.KindAfterShip
	case AuthStandard:
		kind = verify.KindStandard
	default:
		return nil, nil
	}
	return verify.New(kind, p.Auth.Secrets, verify.Options{Tolerance: p.Auth.Tolerance, Seen: seen, Source: p.ID})
}

// EDI reports whether the profile's format is X12 or EDIFACT.
func (p *Profile) EDI() bool { return p.Format == FormatX12 || p.Format == FormatEDIFACT }

// DefaultProfile returns a profile of format with the standard code
// tables and zone as its default time zone, named after the format. A
// json format has no default: its mapping must come from a sources file.
func DefaultProfile(format, zone string) (*Profile, error) {
	if format == FormatJSON {
		return nil, errors.New("format json needs a mapping: give a sources file whose profile names it")
	}
	fp := fileProfile{ID: format, Format: format, Auth: fileAuth{Scheme: AuthAPIKey}, Timezone: zone}
	p, probs := fp.profile(".", nil)
	if len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, pr := range probs {
			msgs[i] = pr.key + ": " + pr.msg
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	return p, nil
}

// WithZone returns a copy of p whose default time zone is zone.
func (p *Profile) WithZone(zone string) (*Profile, error) {
	if _, err := time.LoadLocation(zone); err != nil {
		return nil, fmt.Errorf("unknown IANA time zone %q", zone)
	}
	c := *p
	c.Partner.Zone = zone
	return &c, nil
}
