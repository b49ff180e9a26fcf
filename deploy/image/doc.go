// Package image holds no code: it is the home of Waybill's container
// image, built FROM scratch and offline by build.sh with podman or
// buildah (see docs/deploy.md), and of the test that builds it, runs
// `waybill version` in it, and serves from it under a read-only root file
// system as its unprivileged user.
package image
