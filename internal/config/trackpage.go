package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TrackingBranding is one entry of tracking_page.branding, written as
// space-separated key=value pairs:
//
//	customer=odoo:res.partner/7 name="Acme Retail" logo_url=https://acme.example/logo.png primary_color=#0a3d62 accent_color=#f6b93b
//
// A value holding spaces or double quotes is written in double quotes,
// with Go's escapes.
type TrackingBranding struct {
	Customer     string
	Name         string
	LogoURL      string
	PrimaryColor string
	AccentColor  string
}

// String returns the entry as key=value pairs, leaving out empty values.
func (b TrackingBranding) String() string {
	var fs []string
	for _, kv := range []struct{ k, v string }{{"customer", b.Customer}, {"name", b.Name}, {"logo_url", b.LogoURL},
		{"primary_color", b.PrimaryColor}, {"accent_color", b.AccentColor}} {
		if kv.v == "" {
			continue
		}
		v := kv.v
		if strings.ContainsAny(v, " \t\"\\") || !strconv.CanBackquote(v) {
			v = strconv.Quote(v)
		}
		fs = append(fs, kv.k+"="+v)
	}
	return strings.Join(fs, " ")
}

// MarshalText implements encoding.TextMarshaler: the String form.
func (b TrackingBranding) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses the
// key=value pairs of the keys customer, name, logo_url, primary_color and
// accent_color, and checks them.
func (b *TrackingBranding) UnmarshalText(text []byte) error {
	e := string(text)
	pairs, err := splitPairs(e)
	if err != nil {
		return fmt.Errorf("entry %q: %w", e, err)
	}
	var parsed TrackingBranding
	for _, p := range pairs {
		var dst *string
		switch p[0] {
		case "customer":
			dst = &parsed.Customer
		case "name":
			dst = &parsed.Name
		case "logo_url":
			dst = &parsed.LogoURL
		case "primary_color":
			dst = &parsed.PrimaryColor
		case "accent_color":
			dst = &parsed.AccentColor
		default:
			return fmt.Errorf("entry %q: unknown key %q: want customer, name, logo_url, primary_color or accent_color", e, p[0])
		}
		if *dst != "" {
			return fmt.Errorf("entry %q: sets %s more than once", e, p[0])
		}
		*dst = p[1]
	}
	if err := parsed.check(); err != nil {
		return fmt.Errorf("entry %q: %w", e, err)
	}
	*b = parsed
	return nil
}

// splitPairs splits space-separated key=value pairs, whose values may be
// double-quoted Go strings.
func splitPairs(s string) ([][2]string, error) {
	var out [][2]string
	rest := strings.TrimSpace(s)
	for rest != "" {
		k, after, ok := strings.Cut(rest, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			f, _, _ := strings.Cut(rest, " ")
			return nil, fmt.Errorf("%q is not key=value", f)
		}
		var v string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return nil, fmt.Errorf("the value of %s has no closing quote", k)
			}
			if v, err = strconv.Unquote(q); err != nil {
				return nil, fmt.Errorf("the value of %s: %w", k, err)
			}
			after = after[len(q):]
			if after != "" && after[0] != ' ' && after[0] != '\t' {
				return nil, fmt.Errorf("the value of %s goes on after its closing quote", k)
			}
		} else {
			v, after, _ = strings.Cut(after, " ")
		}
		if v == "" {
			return nil, fmt.Errorf("%s has no value", k)
		}
		out = append(out, [2]string{k, v})
		rest = strings.TrimSpace(after)
	}
	return out, nil
}

var colorPattern = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// check checks the entry's values.
func (b TrackingBranding) check() error {
	var errs []error
	if b.Customer == "" {
		errs = append(errs, errors.New("needs a customer, such as customer=odoo:res.partner/7"))
	}
	if len(b.Name) > 100 || strings.ContainsAny(b.Name, "\x00\n\r") {
		errs = append(errs, errors.New("name must be at most 100 characters on one line"))
	}
	if b.LogoURL != "" {
		u, err := url.Parse(b.LogoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			errs = append(errs, fmt.Errorf("logo_url %q must be an absolute https URL without credentials", b.LogoURL))
		}
	}
	for _, c := range []struct{ k, v string }{{"primary_color", b.PrimaryColor}, {"accent_color", b.AccentColor}} {
		if c.v != "" && !colorPattern.MatchString(c.v) {
			errs = append(errs, fmt.Errorf("%s %q must be #rgb or #rrggbb", c.k, c.v))
		}
	}
	return errors.Join(errs...)
}

// validate checks the tracking_page section; postgres tells whether the
// storage is PostgreSQL, where the signing key must be set.
func (t TrackingPage) validate(v *validator, postgres bool) {
	if t.BaseURL != "" {
		u, err := url.Parse(t.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			v.add("tracking_page.base_url", "must be an absolute http or https URL without credentials, query or fragment, such as https://track.example.com")
		}
	}
	v.positive("tracking_page.link_lifetime", t.LinkLifetime)
	v.positive("tracking_page.max_link_lifetime", t.MaxLinkLifetime)
	if t.LinkLifetime > t.MaxLinkLifetime && t.MaxLinkLifetime > 0 {
		v.add("tracking_page.link_lifetime", "must not be longer than tracking_page.max_link_lifetime")
	}
	if k := t.SigningKey.Reveal(); k != "" && len(k) < 32 {
		v.add("tracking_page.signing_key", "must be at least 32 characters (openssl rand -base64 32 makes one)")
	}
	if t.Enabled && postgres && t.SigningKey == "" {
		v.add("tracking_page.signing_key", "must be set on PostgreSQL, so that every replica signs the links alike (openssl rand -base64 32 makes one)")
	}
	v.between("tracking_page.rate", t.Rate, 1, 1000000)
	v.between("tracking_page.burst", t.Burst, 1, 1000000)
	v.positive("tracking_page.cache_max_age", t.CacheMaxAge)
	if t.CacheMaxAge > time.Hour {
		v.add("tracking_page.cache_max_age", "must be at most 1h")
	}
	if err := t.Timezone.check(); err != nil {
		v.add("tracking_page.timezone", err.Error())
	}
	var seen []string
	for _, b := range t.Branding {
		if err := b.check(); err != nil {
			v.add("tracking_page.branding", fmt.Sprintf("entry %q: %v", b.String(), err))
		} else if slices.Contains(seen, b.Customer) {
			v.add("tracking_page.branding", fmt.Sprintf("sets customer %q more than once", b.Customer))
		}
		seen = append(seen, b.Customer)
	}
}
