package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// engine returns the container engine the test builds with: the one
// WAYBILL_IMAGE_ENGINE names, else podman, else buildah. It skips the
// test when neither is installed.
func engine(t *testing.T) string {
	t.Helper()
	if e := os.Getenv("WAYBILL_IMAGE_ENGINE"); e != "" {
		if _, err := exec.LookPath(e); err != nil {
			t.Fatalf("WAYBILL_IMAGE_ENGINE=%s: %v", e, err)
		}
		return e
	}
	for _, e := range []string{"podman", "buildah"} {
		if _, err := exec.LookPath(e); err == nil {
			return e
		}
	}
	t.Skip("neither podman nor buildah is installed: the container image is not built (apt-get install podman to build it)")
	return ""
}

// runArgs are the options every container the test starts gets. The
// limits on open files and processes stay within the test's own: podman
// asks for more by default, which a sandboxed host refuses (and some refuse
// a process limit equal to the caller's, so it is lowered to 4096). runc,
// where installed, runs the container: crun refuses the hybrid cgroup
// hierarchy such hosts often have. WAYBILL_TEST_OCI_RUNTIME names another
// runtime.
func runArgs(t *testing.T) []string {
	t.Helper()
	var args []string
	for _, l := range []struct {
		name     string
		resource int
		most     uint64
	}{{"nofile", syscall.RLIMIT_NOFILE, 1 << 16}, {"nproc", 6 /* RLIMIT_NPROC */, 4096}} {
		var r syscall.Rlimit
		if err := syscall.Getrlimit(l.resource, &r); err != nil {
			t.Fatal(err)
		}
		n := min(r.Cur, r.Max, l.most)
		args = append(args, "--ulimit", fmt.Sprintf("%s=%d:%d", l.name, n, n))
	}
	runtime := os.Getenv("WAYBILL_TEST_OCI_RUNTIME")
	if runtime == "" {
		if _, err := exec.LookPath("runc"); err == nil {
			runtime = "runc"
		}
	}
	if runtime != "" {
		args = append(args, "--runtime", runtime)
	}
	return args
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestImage builds the image with build.sh, checks its user and size, runs
// `waybill version` in it, and, with podman, serves from it with a
// read-only root file system until /readyz answers.
func TestImage(t *testing.T) {
	e := engine(t)
	if testing.Short() {
		t.Skip("-short: the container image is not built")
	}
	tag := fmt.Sprintf("localhost/waybill-test:%d", time.Now().UnixNano())
	const version = "v0.0.0-imagetest"
	out := run(t, "./build.sh", "-e", e, "-t", tag, "-v", version)
	if last := lastLine(out); last != tag {
		t.Fatalf("build.sh printed %q last, want the tag %q", last, tag)
	}
	t.Cleanup(func() { exec.Command(e, "rmi", "-f", tag).Run() })

	size, cfg := inspect(t, e, tag)
	t.Logf("image %s: %.1f MB", tag, float64(size)/1e6)
	if cfg.User != "65532:65532" {
		t.Errorf("image user = %q, want 65532:65532", cfg.User)
	}
	if _, ok := cfg.Volumes["/data"]; cfg.WorkingDir != "/data" || !ok {
		t.Errorf("working directory %q, volumes %v: want /data as both", cfg.WorkingDir, cfg.Volumes)
	}
	// No base image, so the image is the binary and a few files: a size
	// far above the binary's means something else came in.
	if size <= 0 || size > 100e6 {
		t.Errorf("image size %d bytes, want above 0 and at most 100 MB", size)
	}

	var versionOut string
	switch e {
	case "podman":
		versionOut = run(t, "podman", append(append([]string{"run", "--rm", "--read-only"}, runArgs(t)...), tag, "version")...)
	case "buildah":
		ctr := strings.TrimSpace(run(t, "buildah", "from", "--pull=never", tag))
		t.Cleanup(func() { exec.Command("buildah", "rm", ctr).Run() })
		args := []string{"run"}
		if rt := runArgs(t); len(rt) >= 2 && rt[len(rt)-2] == "--runtime" {
			args = append(args, rt[len(rt)-2:]...)
		}
		versionOut = run(t, "buildah", append(args, ctr, "--", "/usr/local/bin/waybill", "version")...)
	}
	if !strings.HasPrefix(versionOut, "waybill "+version+" ") || !strings.Contains(versionOut, "linux/") {
		t.Fatalf("waybill version in the image printed %q, want waybill %s …", versionOut, version)
	}
	if e != "podman" {
		return
	}

	// Nothing but the binary, the CA bundle, the user and group files and
	// the data directory.
	ctr := strings.TrimSpace(run(t, "podman", "create", tag))
	t.Cleanup(func() { exec.Command("podman", "rm", "-f", "-v", ctr).Run() })
	export := exec.Command("podman", "export", ctr)
	tarball, err := export.Output()
	if err != nil {
		t.Fatalf("podman export: %v", err)
	}
	var files []string
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files = append(files, strings.TrimPrefix(h.Name, "/"))
		}
		if name := strings.Trim(h.Name, "/"); name == "data" && (h.Uid != 65532 || h.Mode&0o200 == 0) {
			t.Errorf("/data: uid %d mode %o, want 65532 and writable by it", h.Uid, h.Mode)
		}
	}
	slices.Sort(files)
	want := []string{"etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "usr/local/bin/waybill"}
	if !slices.Equal(files, want) {
		t.Errorf("image files %v, want %v", files, want)
	}

	// serve as uid 65532 on a read-only root file system: on SQLite the
	// anonymous volume at /data, owned by that user, is the only writable
	// place; on PostgreSQL, as the compose stack and Kubernetes run it,
	// the key files are mounted read-only.
	t.Run("serve/sqlite", func(t *testing.T) {
		serve(t, tag, nil)
	})
	t.Run("serve/postgres", func(t *testing.T) {
		dbURL := sqldbtest.PostgresSchemaURL(t)
		dir := t.TempDir()
		kek := make([]byte, 32)
		rand.Read(kek)
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		// Readable by the container's user, which owns neither file.
		for name, data := range map[string][]byte{
			"encryption.key":    []byte(base64.StdEncoding.EncodeToString(kek) + "\n"),
			"audit-signing.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		name, url := serve(t, tag, []string{
			"-e", "WAYBILL_STORAGE_DATABASE_URL=" + dbURL,
			"-v", filepath.Join(dir, "encryption.key") + ":/run/secrets/encryption.key:ro",
			"-v", filepath.Join(dir, "audit-signing.pem") + ":/run/secrets/audit-signing.pem:ro",
			"-e", "WAYBILL_ENCRYPTION_KEY_FILE=/run/secrets/encryption.key",
			"-e", "WAYBILL_AUDIT_SIGNING_KEY_FILE=/run/secrets/audit-signing.pem",
		})
		// API keys are made with the binary in the running container: the
		// image has no shell.
		out := run(t, "podman", "exec", name, "/usr/local/bin/waybill", "keys", "create", "--name", "imagetest", "--scopes", "admin")
		key := lastLine(out)
		req, _ := http.NewRequest(http.MethodGet, url+"/v1/openapi.json", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /v1/openapi.json with the key made in the container: %s", resp.Status)
		}
	})
}

// serve runs the image's serve with the extra podman run arguments, waits
// until /readyz answers 200 and checks that it runs as uid 65532. It
// returns the container's name and the hub's URL.
func serve(t *testing.T, tag string, extra []string) (name, url string) {
	t.Helper()
	port := freePort(t)
	name = fmt.Sprintf("waybill-test-%d", time.Now().UnixNano())
	url = "http://127.0.0.1:" + port
	args := append([]string{"run", "-d", "--name", name, "--read-only", "--network", "host",
		"-e", "WAYBILL_SERVER_ADDR=127.0.0.1:" + port,
		// Zones that load only from the embedded database: the image has
		// no /usr/share/zoneinfo.
		"-e", "WAYBILL_BILLING_TIMEZONE=Europe/Berlin", "-e", "WAYBILL_RECONCILE_TIMEZONE=America/Chicago"}, runArgs(t)...)
	args = append(args, extra...)
	run(t, "podman", append(args, tag)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("podman", "logs", name).CombinedOutput()
			t.Logf("container log:\n%s", logs)
		}
		exec.Command("podman", "rm", "-f", "-v", "-t", "5", name).Run()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		state, _ := exec.Command("podman", "inspect", "--format", "{{.State.Status}}", name).Output()
		if s := strings.TrimSpace(string(state)); s != "running" && s != "created" && s != "configured" {
			t.Fatalf("the container stopped (%q) before /readyz answered 200", s)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/readyz did not answer 200: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	who := run(t, "podman", "top", name, "user", "huser")
	if !strings.Contains(who, "65532") {
		t.Errorf("serve does not run as uid 65532:\n%s", who)
	}
	return name, url
}

// imageConfig is the part of an image's OCI configuration the test reads.
type imageConfig struct {
	User       string
	WorkingDir string
	Volumes    map[string]struct{}
}

// inspect returns an image's size in bytes (its layers, uncompressed) and
// its configuration.
func inspect(t *testing.T, engine, tag string) (int64, imageConfig) {
	t.Helper()
	out := run(t, engine, "inspect", "--type", "image", tag)
	if engine == "podman" {
		var imgs []struct {
			Size   int64
			Config imageConfig
		}
		if err := json.Unmarshal([]byte(out), &imgs); err != nil || len(imgs) != 1 {
			t.Fatalf("podman inspect %s: %v\n%s", tag, err, out)
		}
		return imgs[0].Size, imgs[0].Config
	}
	var img struct {
		Manifest string
		OCIv1    struct {
			Config imageConfig `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(out), &img); err != nil {
		t.Fatalf("buildah inspect %s: %v", tag, err)
	}
	var m struct {
		Layers []struct{ Size int64 } `json:"layers"`
	}
	if err := json.Unmarshal([]byte(img.Manifest), &m); err != nil {
		t.Fatalf("buildah inspect %s: manifest: %v", tag, err)
	}
	var size int64
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, img.OCIv1.Config
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
