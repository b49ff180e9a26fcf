package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/sqldb"
)

// OpenAudit opens the audit trail of db with the signing key the
// configuration names (audit.signing_key_file, else audit-signing.key in
// storage.data_dir, created on first use). Commands that record what they
// do use it as serve does.
func OpenAudit(ctx context.Context, cfg config.Config, db *sqldb.DB, logger *slog.Logger) (*audit.Store, error) {
	opts := audit.KeyOptions{File: cfg.Audit.SigningKeyFile, DataDir: cfg.Storage.DataDir}
	kf, src, err := audit.OpenKey(opts)
	if err != nil {
		return nil, fmt.Errorf("audit.signing_key_file: %w", err)
	}
	switch src {
	case audit.KeyCreated:
		logger.WarnContext(ctx, "audit signing key created: keep a copy, audit verify needs it",
			slog.String("file", opts.Path()), slog.String("key_id", kf.Signer.ID()))
	case audit.KeyEphemeral:
		logger.WarnContext(ctx, "no audit signing key and no data directory to keep one: entries of this run cannot be verified once it ends; set audit.signing_key_file",
			slog.String("key_id", kf.Signer.ID()))
	}
	return audit.NewStore(db, kf.Signer, nil), nil
}

// recordStartup records the start-up's configuration in the audit trail:
// the effective configuration (secrets redacted) and the rules, source
// profiles and JSON mapping files it names.
func (h *Hub) recordStartup(ctx context.Context, profiles *source.Profiles) error {
	cfgJSON, err := json.Marshal(h.cfg)
	if err != nil {
		return fmt.Errorf("recording the configuration: %w", err)
	}
	st := audit.Startup{Config: cfgJSON, Files: map[string]audit.ConfigFile{}}
	add := func(name, path string) error {
		if path == "" {
			return nil
		}
		f, err := audit.HashFile(path)
		if err != nil {
			return fmt.Errorf("recording the configuration: %s: %w", name, err)
		}
		st.Files[name] = f
		return nil
	}
	if err := add("billing.rules_file", h.cfg.Billing.RulesFile); err != nil {
		return err
	}
	if err := add("intake.sources_file", h.cfg.Intake.SourcesFile); err != nil {
		return err
	}
	for _, p := range profiles.All() {
		if err := add("mapping:"+p.ID, p.MappingFile); err != nil {
			return err
		}
	}
	changed, err := h.Audit.RecordStartup(ctx, st)
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		h.logger.InfoContext(ctx, "configuration changed since the last start", slog.String("changed", strings.Join(changed, ", ")))
	}
	return nil
}
