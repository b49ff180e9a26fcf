package k8s_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
)

// overlays are the environments, each a directory under overlays/.
var overlays = []string{"dev", "test", "prod"}

// kinds are the kinds an overlay renders, each exactly once.
var kinds = []string{"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"}

// secretName is the Secret every overlay refers to and none generates.
const secretName = "waybill-secrets"

// object is one rendered object.
type object struct {
	kind, name string
	doc        map[string]any // as decoded by jsonschema.UnmarshalJSON
}

func (o object) String() string { return o.kind + "/" + o.name }

// render builds the kustomization in dir.
func render(dir string) ([]object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	var objs []object
	for _, r := range m.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		objs = append(objs, object{kind: r.GetKind(), name: r.GetName(), doc: doc.(map[string]any)})
	}
	return objs, nil
}

// schemas compiles the schema of every kind in testdata/schemas.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	files, err := filepath.Glob("testdata/schemas/*.json")
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://waybill.invalid/k8s/"
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(base+filepath.Base(f), doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	out := make(map[string]*jsonschema.Schema)
	for _, k := range kinds {
		s, err := c.Compile(base + strings.ToLower(k) + ".json")
		if err != nil {
			t.Fatalf("schema of %s: %v", k, err)
		}
		out[k] = s
	}
	return out
}

// live is what the manifests are checked against: the metrics a hub
// registers and the status of its answers to GET on a path.
type live struct {
	metrics []string
	status  map[string]int
}

// startHub builds and runs a hub on SQLite, notes which metrics it
// registers and what it answers to GET on the probe paths, /metrics, and
// /ready (a typo, which must not answer 200), then stops it.
func startHub(t *testing.T) *live {
	t.Helper()
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.DataDir = t.TempDir()
	cfg.Storage.SQLiteSynchronous = "normal"
	cfg.Reconcile.Schedule = false
	cfg.Reconcile.InventoryInterval = 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(t.Context(), cfg, hub.Options{Version: "test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("building hub: %v", err)
	}
	l := &live{metrics: h.MetricNames(), status: make(map[string]int)}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	// The hub listens from New on: requests wait in the backlog until it
	// serves.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/ready"} {
		resp, err := http.Get(h.URL() + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		l.status[p] = resp.StatusCode
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("hub: %v", err)
	}
	return l
}

// check validates the objects an overlay renders and returns every problem
// found.
func check(objs []object, sch map[string]*jsonschema.Schema, l *live) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	byKind := make(map[string][]object)
	for _, o := range objs {
		byKind[o.kind] = append(byKind[o.kind], o)
		s, ok := sch[o.kind]
		if !ok {
			fail("%s: no schema for kind %s", o, o.kind)
			continue
		}
		if err := s.Validate(o.doc); err != nil {
			fail("%s: %v", o, err)
		}
	}
	for _, k := range kinds {
		if n := len(byKind[k]); n != 1 {
			fail("%d objects of kind %s, want 1", n, k)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	one := func(kind string) object { return byKind[kind][0] }
	dep, cm, svc, sa := one("Deployment"), one("ConfigMap"), one("Service"), one("ServiceAccount")
	pod := get(dep.doc, "spec", "template", "spec").(map[string]any)
	podLabels := strings2(get(dep.doc, "spec", "template", "metadata", "labels"))
	selects := func(who string, sel any) {
		m := strings2(sel)
		if len(m) == 0 {
			fail("%s selects nothing", who)
		}
		for k, v := range m {
			if podLabels[k] != v {
				fail("%s selects %s=%s, which the hub's pods do not carry (%v)", who, k, v, podLabels)
			}
		}
	}
	selects(dep.String(), get(dep.doc, "spec", "selector", "matchLabels"))
	selects(svc.String(), get(svc.doc, "spec", "selector"))
	selects(one("PodDisruptionBudget").String(), get(one("PodDisruptionBudget").doc, "spec", "selector", "matchLabels"))
	selects(one("NetworkPolicy").String(), get(one("NetworkPolicy").doc, "spec", "podSelector", "matchLabels"))

	hpa := one("HorizontalPodAutoscaler")
	if n := get(hpa.doc, "spec", "scaleTargetRef", "name"); n != dep.name {
		fail("%s scales %v, want %s", hpa, n, dep.name)
	}
	for _, m := range get(hpa.doc, "spec", "metrics").([]any) {
		for _, src := range []string{"pods", "external"} {
			if name, ok := get(m, src, "metric", "name").(string); ok && !slices.Contains(l.metrics, name) {
				fail("%s scales on %s, which a hub does not register", hpa, name)
			}
		}
	}
	if sa.name != pod["serviceAccountName"] {
		fail("%s runs as service account %v, want %s", dep, pod["serviceAccountName"], sa.name)
	}

	volumes := make(map[string]bool)
	for _, v := range get(pod, "volumes").([]any) {
		name := get(v, "name").(string)
		volumes[name] = true
		if s, ok := get(v, "secret", "secretName").(string); ok && s != secretName {
			fail("%s: volume %s mounts the Secret %s, want %s", dep, name, s, secretName)
		}
	}
	c := get(pod, "containers").([]any)[0]
	ports := make(map[string]bool)
	for _, p := range get(c, "ports").([]any) {
		if n, ok := get(p, "name").(string); ok {
			ports[n] = true
		}
	}
	for _, m := range get(c, "volumeMounts").([]any) {
		if n := get(m, "name").(string); !volumes[n] {
			fail("%s mounts volume %s, which the pod does not have", dep, n)
		}
	}
	if tp, ok := get(svc.doc, "spec", "ports").([]any)[0].(map[string]any)["targetPort"].(string); ok && !ports[tp] {
		fail("%s targets port %s, which the container does not name", svc, tp)
	}
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		path, _ := get(c, probe, "httpGet", "path").(string)
		if st, ok := l.status[path]; !ok || st != http.StatusOK {
			fail("%s: %s GET %s: a running hub answers %d, want 200", dep, probe, path, st)
		}
		if port, ok := get(c, probe, "httpGet", "port").(string); ok && !ports[port] {
			fail("%s: %s on port %s, which the container does not name", dep, probe, port)
		}
	}

	// The hub's environment, loaded as the hub loads it: every variable
	// must be a configuration key, and the values valid. Secrets get
	// stand-ins.
	environ := []string{}
	for _, ef := range asSlice(get(c, "envFrom")) {
		if n, ok := get(ef, "configMapRef", "name").(string); ok {
			if n != cm.name {
				fail("%s reads ConfigMap %s, want %s", dep, n, cm.name)
			}
			data := strings2(get(cm.doc, "data"))
			for _, k := range slices.Sorted(maps.Keys(data)) {
				environ = append(environ, k+"="+data[k])
			}
		}
	}
	secretKeys := make(map[string]bool)
	for _, e := range asSlice(get(c, "env")) {
		name := get(e, "name").(string)
		if v, ok := get(e, "value").(string); ok {
			environ = append(environ, name+"="+v)
			continue
		}
		ref := get(e, "valueFrom", "secretKeyRef")
		if s := get(ref, "name"); s != secretName {
			fail("%s: %s comes from Secret %v, want %s", dep, name, s, secretName)
		}
		secretKeys[get(ref, "key").(string)] = true
		environ = append(environ, name+"="+standIn(name))
	}
	if !secretKeys["database-url"] {
		fail("%s: WAYBILL_STORAGE_DATABASE_URL does not come from the Secret's database-url", dep)
	}
	if _, err := config.Load("", environ); err != nil {
		fail("%s: the hub's environment does not load: %v", dep, err)
	}
	return errs
}

// standIn is a valid value for a secret environment variable.
func standIn(name string) string {
	switch name {
	case "WAYBILL_STORAGE_DATABASE_URL":
		return "postgres://waybill:secret@postgres:5432/waybill"
	case "WAYBILL_TRACING_HEADERS":
		return "api-key=secret"
	case "WAYBILL_ENCRYPTION_KEY":
		return "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	}
	return "0123456789abcdef0123456789abcdef"
}

// get walks doc along path and returns what it finds there, or nil.
func get(doc any, path ...string) any {
	for _, p := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[p]
	}
	return doc
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// strings2 returns a map of strings, such as labels, as a map[string]string.
func strings2(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, _ := v.(string)
		out[k] = s
	}
	return out
}

// TestManifests renders every overlay and checks it, then breaks a copy of
// the manifests in one way at a time and checks that the break is found.
func TestManifests(t *testing.T) {
	sch := schemas(t)
	l := startHub(t)
	if l.status["/ready"] == http.StatusOK {
		t.Fatal("the hub answers 200 to GET /ready: the probe check cannot tell a typo")
	}
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			objs, err := render(filepath.Join("overlays", o))
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range check(objs, sch, l) {
				t.Error(err)
			}
			for _, obj := range objs {
				if ns := get(obj.doc, "metadata", "namespace"); ns != "waybill-"+o {
					t.Errorf("%s in namespace %v, want waybill-%s", obj, ns, o)
				}
			}
		})
	}

	// Each case changes one file of a copy of the manifests (old must
	// occur in it) and renders the prod overlay; a problem must be found
	// whose text holds want.
	broken := []struct {
		name, file, old, new, want string
	}{
		{"probe path typo", "base/deployment.yaml", "path: /readyz", "path: /readz", "readinessProbe/httpGet/path"},
		{"liveness on readiness", "base/deployment.yaml", "path: /healthz\n              port: http\n            periodSeconds: 10", "path: /readyz\n              port: http\n            periodSeconds: 10", "livenessProbe"},
		{"probe on an unnamed port", "base/deployment.yaml", "path: /healthz\n              port: http\n            periodSeconds: 2", "path: /healthz\n              port: admin\n            periodSeconds: 2", "port admin"},
		{"writable root file system", "base/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"root allowed", "base/deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		{"no resource requests", "overlays/prod/resources.yaml", "requests:", "claims:", "requests"},
		{"no replica", "base/deployment.yaml", "replicas: 2", "replicas: 0", "replicas"},
		{"rollout that stops a pod first", "base/deployment.yaml", "maxUnavailable: 0", "maxUnavailable: 1", "maxUnavailable"},
		{"autoscaler down to one replica", "base/horizontalpodautoscaler.yaml", "minReplicas: 2", "minReplicas: 1", "minReplicas"},
		{"unknown metric", "base/horizontalpodautoscaler.yaml", "name: waybill_intake_backlog", "name: waybill_intake_backlogs", "waybill_intake_backlogs"},
		{"service selects nothing", "base/service.yaml", "app.kubernetes.io/component: hub", "app.kubernetes.io/component: api", "component=api"},
		{"unknown variable", "base/kustomization.yaml", "WAYBILL_LOG_LEVEL=info", "WAYBILL_LOG_LEVELS=info", "WAYBILL_LOG_LEVELS"},
		{"bad value", "overlays/prod/kustomization.yaml", "WAYBILL_STORAGE_POSTGRES_MAX_CONNS=32", "WAYBILL_STORAGE_POSTGRES_MAX_CONNS=0", "postgres_max_conns"},
		{"other secret", "base/deployment.yaml", "secretName: waybill-secrets", "secretName: waybill-keys", "waybill-keys"},
		{"latest image", "overlays/prod/kustomization.yaml", "newTag: v1.0.0", "newTag: latest", "image"},
	}
	for _, b := range broken {
		t.Run("broken/"+b.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(".")); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, b.file)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			old, repl := b.old, b.new
			if !bytes.Contains(raw, []byte(old)) {
				t.Fatalf("%s does not hold %q", b.file, old)
			}
			if err := os.WriteFile(path, bytes.ReplaceAll(raw, []byte(old), []byte(repl)), 0o644); err != nil {
				t.Fatal(err)
			}
			objs, err := render(filepath.Join(dir, "overlays", "prod"))
			if err != nil {
				t.Fatal(err)
			}
			errs := check(objs, sch, l)
			if len(errs) == 0 {
				t.Fatal("no problem found")
			}
			found := errors.Join(errs...).Error()
			t.Logf("found:\n%s", found)
			if !strings.Contains(found, b.want) {
				t.Errorf("no problem mentions %q:\n%s", b.want, found)
			}
		})
	}
}
