package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	t.Parallel()
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "3d608e6abcdef"}, {Key: "vcs.time", Value: "2026-12-04T23:41:07Z"}, {Key: "vcs.modified", Value: "true"}}
	for _, tt := range []struct {
		name, ldflags string
		info          *debug.BuildInfo
		want          string
	}{
		{"installed module", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: vcs[:2]},
			"v1.4.0 (revision 3d608e6abcdef, 2026-12-04T23:41:07Z) go1.26.8 "},
		{"built from a changed tree", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"devel (revision 3d608e6abcdef, 2026-12-04T23:41:07Z, modified) go1.26.8 "},
		{"version from ldflags", "v2.0.0-rc1", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs[:1]},
			"v2.0.0-rc1 (revision 3d608e6abcdef) go1.26.8 "},
		{"go run", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"devel (no revision recorded (built with go run or -buildvcs=false)) go1.26.8 "},
	} {
		if got := versionLine(tt.ldflags, tt.info); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: got %q, want it to start with %q", tt.name, got, tt.want)
		}
	}
}
