// Package k8s holds no code: it is the home of Waybill's Kubernetes
// manifests, a kustomize base (base/) and the overlays dev, test and prod
// (overlays/), and of the test that renders every overlay and validates
// what it renders (see docs/deploy.md):
//
//   - each object against the JSON schema of its kind in testdata/schemas,
//     minimal schemas of the Kubernetes API that are strict where a
//     mistake would only show in a rollout: probe paths, a read-only root
//     file system, a non-root user, resource requests, a rolling update
//     that never stops a pod first;
//   - the references between objects: selectors, the ConfigMap, the
//     Secret, ports, volumes, the autoscaler's target;
//   - the environment the hub gets, through the hub's own configuration
//     loader, so that an unknown WAYBILL_ variable or a bad value fails;
//   - the metrics the autoscaler scales on, against those a hub registers,
//     and the probe paths, against a running hub.
//
// The test also breaks a copy of the manifests in several ways and checks
// that each one fails.
package k8s
