package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadTracing(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `tracing:
  endpoint: localhost:4318
  protocol: grpc
  insecure: true
  headers: "api-key=s3cr3t, x-tenant=ops%2Ceu"
  sample_ratio: 0.25
  service_name: waybill-eu
`)
	cfg, err := Load(path, []string{"WAYBILL_TRACING_SAMPLE_RATIO=0.5"})
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Tracing
	if tr.Endpoint != "localhost:4318" || tr.Protocol != "grpc" || !tr.Insecure || tr.ServiceName != "waybill-eu" {
		t.Errorf("got %+v", tr)
	}
	if tr.SampleRatio != 0.5 {
		t.Errorf("got sample_ratio %g, want 0.5 from the environment", tr.SampleRatio)
	}
	h, err := tr.HeaderMap()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"api-key": "s3cr3t", "x-tenant": "ops,eu"}, h); diff != "" {
		t.Errorf("headers differ (-want +got):\n%s", diff)
	}
	// A whole number is a number too.
	cfg, err = Load(writeConfig(t, "tracing:\n  sample_ratio: 1\n"), nil)
	if err != nil || cfg.Tracing.SampleRatio != 1 {
		t.Errorf("sample_ratio 1: got %g, %v", cfg.Tracing.SampleRatio, err)
	}
}

func TestLoadTracingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		environ []string
		want    where
		msg     string
	}{
		{name: "endpoint with scheme", file: "tracing:\n  endpoint: http://localhost:4318\n", want: where{Key: "tracing.endpoint", Line: 2}, msg: "must be host:port without a scheme"},
		{name: "endpoint without port", file: "tracing:\n  endpoint: localhost\n", want: where{Key: "tracing.endpoint", Line: 2}, msg: "must be host:port"},
		{name: "endpoint with bad port", file: "tracing:\n  endpoint: localhost:99999\n", want: where{Key: "tracing.endpoint", Line: 2}, msg: "must be host:port"},
		{name: "unknown protocol", file: "tracing:\n  protocol: http/json\n", want: where{Key: "tracing.protocol", Line: 2}, msg: `must be one of`},
		{name: "ratio above 1", file: "tracing:\n  sample_ratio: 1.5\n", want: where{Key: "tracing.sample_ratio", Line: 2}, msg: "must be above 0 and at most 1, got 1.5"},
		{name: "negative ratio", environ: []string{"WAYBILL_TRACING_SAMPLE_RATIO=-0.1"}, want: where{Key: "tracing.sample_ratio", Env: "WAYBILL_TRACING_SAMPLE_RATIO"}, msg: "must be above 0"},
		{name: "zero ratio", file: "tracing:\n  sample_ratio: 0\n", want: where{Key: "tracing.sample_ratio", Line: 2}, msg: "an empty tracing.endpoint turns tracing off"},
		{name: "word for ratio", file: "tracing:\n  sample_ratio: half\n", want: where{Key: "tracing.sample_ratio", Line: 2}, msg: `must be a number, such as 0.25, got "half"`},
		{name: "env word for ratio", environ: []string{"WAYBILL_TRACING_SAMPLE_RATIO=NaN"}, want: where{Key: "tracing.sample_ratio", Env: "WAYBILL_TRACING_SAMPLE_RATIO"}, msg: `must be a number`},
		{name: "empty service name", file: "tracing:\n  service_name: \" \"\n", want: where{Key: "tracing.service_name", Line: 2}, msg: "must not be empty"},
		{name: "header without value", file: "tracing:\n  headers: api-key\n", want: where{Key: "tracing.headers", Line: 2}, msg: "pair 1 must be name=value"},
		{name: "header with bad name", environ: []string{"WAYBILL_TRACING_HEADERS=ok=1,bad name=hunter2"}, want: where{Key: "tracing.headers", Env: "WAYBILL_TRACING_HEADERS"}, msg: "pair 2 must be name=value"},
		{name: "header with bad escape", file: "tracing:\n  headers: k=hunter2%zz\n", want: where{Key: "tracing.headers", Line: 2}, msg: "pair 1 (k) has a value that is not valid percent-encoding"},
		{name: "header with line break", file: "tracing:\n  headers: k=a%0Ab\n", want: where{Key: "tracing.headers", Line: 2}, msg: "holds a line break"},
		{name: "mapping for headers", file: "tracing:\n  headers:\n    api-key: x\n", want: where{Key: "tracing.headers", Line: 3}, msg: "must be a string, got a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			_, err := Load(path, tt.environ)
			fes := fieldErrors(t, err)
			if diff := cmp.Diff([]where{tt.want}, wheres(fes)); diff != "" {
				t.Fatalf("errors differ (-want +got):\n%s\nerror: %v", diff, err)
			}
			if !strings.Contains(fes[0].Msg, tt.msg) {
				t.Errorf("got message %q, want it to contain %q", fes[0].Msg, tt.msg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals a header value: %v", err)
			}
		})
	}
}
