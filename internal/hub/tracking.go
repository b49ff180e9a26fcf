package hub

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/trackpage"
	"github.com/waybill/waybill/internal/workflow"
)

// trackingKeyFile is the signing key of the tracking links an SQLite data
// directory keeps when tracking_page.signing_key is empty.
const trackingKeyFile = "tracking.key"

// NewTrackingService builds the tracking page service of cfg, or returns
// nil when tracking_page.enabled is false.
func NewTrackingService(cfg config.Config, db *sqldb.DB, shipments *workflow.Store, logger *slog.Logger) (*trackpage.Service, error) {
	tc := cfg.TrackingPage
	if !tc.Enabled {
		return nil, nil
	}
	key := []byte(tc.SigningKey.Reveal())
	if len(key) == 0 {
		var err error
		if key, err = TrackingKey(cfg); err != nil {
			return nil, err
		}
	}
	brands := make(map[string]trackpage.Brand, len(tc.Branding))
	for _, b := range tc.Branding {
		brands[b.Customer] = trackpage.Brand{Name: b.Name, LogoURL: b.LogoURL, PrimaryColor: b.PrimaryColor, AccentColor: b.AccentColor}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return trackpage.New(trackpage.Options{DB: db, Shipments: shipments, Key: key, BaseURL: tc.BaseURL,
		LinkLifetime: tc.LinkLifetime, MaxLinkLifetime: tc.MaxLinkLifetime, Rate: float64(tc.Rate), Burst: tc.Burst,
		CacheMaxAge: tc.CacheMaxAge, View: trackpage.ViewOptions{Location: tc.Timezone.Location(), ShowPODPhotos: tc.ShowPODPhotos, Branding: brands},
		Logger: logger.With(slog.String("component", "trackpage"))})
}

// TrackingKey returns the signing key kept in the SQLite data directory
// of cfg, making it (32 random bytes, base64, mode 0600) on first use.
// PostgreSQL has no data directory the replicas share: there,
// tracking_page.signing_key must be set.
func TrackingKey(cfg config.Config) ([]byte, error) {
	if cfg.Storage.DatabaseURL != "" || cfg.Storage.DataDir == "" {
		return nil, errors.New("tracking_page.signing_key: must be set when the storage is PostgreSQL")
	}
	path := filepath.Join(cfg.Storage.DataDir, trackingKeyFile)
	raw := make([]byte, 32)
	rand.Read(raw) // never fails (crypto/rand)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("writing tracking link key %s: %w", path, werr)
		}
		return raw, nil
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("creating tracking link key %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading tracking link key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < trackpage.MinKeySize {
		return nil, fmt.Errorf("tracking link key %s is not 32 bytes in base64: delete it to make a new one (every link made so far stops working)", path)
	}
	return key, nil
}
