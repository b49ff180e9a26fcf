package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/waybill/waybill/internal/config"
)

func ExampleLoad() {
	dir, err := os.MkdirTemp("", "waybill")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "waybill.yaml")
	err = os.WriteFile(path, []byte("intake:\n  max_backlog: 5000\njobs:\n  timeout: 90s\n"), 0o600)
	if err != nil {
		panic(err)
	}

	cfg, err := config.Load(path, []string{"WAYBILL_JOBS_WORKERS=4", "WAYBILL_STORAGE_DATABASE_URL=postgres://u:pw@db/waybill"})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Intake.MaxBacklog, cfg.Jobs.Timeout, cfg.Jobs.Workers, cfg.Server.Addr)
	fmt.Println(cfg.Storage.DatabaseURL)
	// Output:
	// 5000 1m30s 4 127.0.0.1:8080
	// REDACTED
}

func ExampleLoad_errors() {
	_, err := config.Load("", []string{"WAYBILL_INTAKE_MAX_BACKLOG=0", "WAYBILL_JOBS_TIMEOUT=soon", "WAYBILL_JOBS_WORKER=4"})
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *config.KeyError
		if errors.As(e, &fe) {
			fmt.Printf("key=%q env=%s: %s\n", fe.Key, fe.Env, fe.Msg)
		}
	}
	// Output:
	// key="jobs.timeout" env=WAYBILL_JOBS_TIMEOUT: must be a duration with a unit, such as "30s" or "250ms", got "soon"
	// key="" env=WAYBILL_JOBS_WORKER: unknown configuration variable; did you mean WAYBILL_JOBS_WORKERS?
	// key="intake.max_backlog" env=WAYBILL_INTAKE_MAX_BACKLOG: must be at least 1
}
