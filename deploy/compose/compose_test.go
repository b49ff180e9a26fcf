package compose_test

import (
	"bufio"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/waybill/waybill/internal/config"
)

// file is the part of a compose file the test reads.
type file struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		User        string            `yaml:"user"`
		ReadOnly    bool              `yaml:"read_only"`
		Environment map[string]string `yaml:"environment"`
		EnvFile     []string          `yaml:"env_file"`
		Secrets     []string          `yaml:"secrets"`
		Volumes     []string          `yaml:"volumes"`
		Deploy      *struct {
			Replicas *int `yaml:"replicas"`
		} `yaml:"deploy"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

func load(t *testing.T) file {
	t.Helper()
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f file
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return f
}

// mounts returns a service's mounts as target → source.
func mounts(volumes []string) map[string]string {
	m := make(map[string]string)
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			m[parts[1]] = parts[0]
		}
	}
	return m
}

func TestCompose(t *testing.T) {
	f := load(t)
	for _, name := range []string{"postgres", "hub", "prometheus", "grafana"} {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("no service %s", name)
		}
	}
	for name, s := range f.Services {
		for target, source := range mounts(s.Volumes) {
			if strings.HasPrefix(source, ".") {
				if _, err := os.Stat(source); err != nil {
					t.Errorf("%s mounts %s at %s: %v", name, source, target, err)
				}
			} else if _, ok := f.Volumes[source]; !ok {
				t.Errorf("%s mounts volume %s, which the file does not declare", name, source)
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := f.Secrets[sec]; !ok {
				t.Errorf("%s uses secret %s, which the file does not declare", name, sec)
			}
		}
	}

	hub := f.Services["hub"]
	if hub.User != "65532:65532" || !hub.ReadOnly {
		t.Errorf("hub runs as %q, read-only %v: want 65532:65532, read-only", hub.User, hub.ReadOnly)
	}
	if hub.Deploy != nil && hub.Deploy.Replicas != nil && *hub.Deploy.Replicas != 1 {
		t.Errorf("hub has %d replicas: several are not supported yet", *hub.Deploy.Replicas)
	}
	if mounts(hub.Volumes)["/data"] == "" || hub.Environment["WAYBILL_STORAGE_DATA_DIR"] != "/data" {
		t.Error("the hub's data directory must be /data, on a volume")
	}

	// Prometheus scrapes the hub where it listens and loads the rules
	// where they are mounted.
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &prom)
	rulesAt := ""
	for target, source := range mounts(f.Services["prometheus"].Volumes) {
		if source == "../observability/prometheus/alerts.yml" {
			rulesAt = target
		}
	}
	if rulesAt == "" || !slices.Contains(prom.RuleFiles, rulesAt) {
		t.Errorf("prometheus loads rules %v; the alert rules are mounted at %q", prom.RuleFiles, rulesAt)
	}
	_, port, _ := strings.Cut(hub.Environment["WAYBILL_SERVER_ADDR"], ":")
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	if !slices.Contains(targets, "hub:"+port) {
		t.Errorf("prometheus scrapes %v, want hub:%s", targets, port)
	}

	// Grafana's dashboard provider reads the directory the dashboard is
	// mounted in.
	var provider struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/waybill.yml", &provider)
	dashAt := ""
	for target, source := range mounts(f.Services["grafana"].Volumes) {
		if source == "../observability/grafana/waybill.json" {
			dashAt = target
		}
	}
	if len(provider.Providers) != 1 || dashAt == "" || path.Dir(dashAt) != provider.Providers[0].Options.Path {
		t.Errorf("grafana reads dashboards from %+v; the dashboard is mounted at %q", provider.Providers, dashAt)
	}
}

// TestComposeSecrets runs init-secrets.sh on a copy of the directory and
// checks what it writes: a key-encryption key, an Ed25519 audit key, and
// an environment with which the hub's configuration loads.
func TestComposeSecrets(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed: init-secrets.sh cannot run")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "secrets"))
	os.Remove(filepath.Join(dir, ".env"))
	for range 2 { // the second run keeps what the first wrote
		if out, err := exec.Command(filepath.Join(dir, "init-secrets.sh")).CombinedOutput(); err != nil {
			t.Fatalf("init-secrets.sh: %v\n%s", err, out)
		}
	}
	f := load(t)
	read := func(secret string) []byte {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(dir, f.Secrets[secret].File))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	kek, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(read("encryption.key"))))
	if err != nil || len(kek) != 32 {
		t.Errorf("encryption.key: %d bytes, %v: want 32 in base64", len(kek), err)
	}
	block, _ := pem.Decode(read("audit-signing.pem"))
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("audit-signing.pem: no PRIVATE KEY block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Error(err)
	} else if _, ok := k.(ed25519.PrivateKey); !ok {
		t.Errorf("audit-signing.pem holds a %T, want an Ed25519 key", k)
	}

	hub := f.Services["hub"]
	var environ []string
	for k, v := range hub.Environment {
		environ = append(environ, k+"="+v)
	}
	for _, ef := range hub.EnvFile {
		fh, err := os.Open(filepath.Join(dir, ef))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
				environ = append(environ, line)
			}
		}
		fh.Close()
	}
	cfg, err := config.Load("", environ)
	if err != nil {
		t.Fatalf("the hub's environment does not load: %v", err)
	}
	if !strings.HasPrefix(cfg.Storage.DatabaseURL.Reveal(), "postgres://waybill:") {
		t.Errorf("database URL %s: want PostgreSQL as user waybill", cfg.Storage.DatabaseURL)
	}
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
