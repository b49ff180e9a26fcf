package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…"; when it
// is not, the module version the go command recorded is used.
var version = ""

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the source revision it was built from, and the Go toolchain",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			info, _ := debug.ReadBuildInfo()
			fmt.Fprintln(cmd.OutOrStdout(), "waybill", versionLine(version, info))
		},
	}
}

// moduleVersion is the version the hub reports (in the OpenAPI document
// and its start-up log line): -X main.version, else the module version,
// else "devel".
func moduleVersion() string {
	info, _ := debug.ReadBuildInfo()
	v, _ := versionParts(version, info)
	return v
}

// versionParts returns the version and the VCS details of a build.
func versionParts(ldflags string, info *debug.BuildInfo) (v string, vcs []string) {
	v = ldflags
	if info == nil {
		if v == "" {
			v = "devel"
		}
		return v, nil
	}
	if v == "" {
		v = info.Main.Version
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" {
		vcs = append(vcs, "revision "+rev)
		if at != "" {
			vcs = append(vcs, at)
		}
		if modified {
			vcs = append(vcs, "modified")
		}
	} else {
		vcs = append(vcs, "no revision recorded (built with go run or -buildvcs=false)")
	}
	return v, vcs
}

// versionLine formats a build's version for `waybill version`, such as
// "v1.4.0 (revision 3d608e6…, 2026-12-04T23:41:07Z) go1.26.8 linux/amd64".
func versionLine(ldflags string, info *debug.BuildInfo) string {
	v, vcs := versionParts(ldflags, info)
	goVersion := runtime.Version()
	if info != nil && info.GoVersion != "" {
		goVersion = info.GoVersion
	}
	line := v
	if len(vcs) > 0 {
		line += " (" + strings.Join(vcs, ", ") + ")"
	}
	return line + " " + goVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
}
