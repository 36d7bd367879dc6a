#!/usr/bin/env bash
# Print the path of a helm v3 binary, building it from the Go module proxy the first
# time (`go install helm.sh/helm/v3/cmd/helm@VERSION`); later runs reuse the cache.
#
#   helm=$(scripts/helm.sh) && "$helm" lint --strict helm/opsgraph
#
# Env: OPSGRAPH_HELM_VERSION (default below), XDG_CACHE_HOME (cache root), GO (go).
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/opsgraph/helm-VERSION/bin/helm; the Go module
# and build caches stay in Go's own locations. A cold build takes 3.5 to 5 minutes on
# 2 cores (most of it compiling client-go); a warm run returns at once.
# Exit codes: 0 the path is on stdout; 1 go is missing or the build failed (reason on stderr).
set -euo pipefail

VERSION=${OPSGRAPH_HELM_VERSION:-v3.22.0}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/opsgraph/helm-$VERSION
HELM=$CACHE/bin/helm
MARKER=$CACHE/.complete
GO=${GO:-go}
# The Go of this project's machines lives in /usr/local/go even where PATH lacks it.
if ! command -v "$GO" >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  GO=/usr/local/go/bin/go
fi
MODULE=helm.sh/helm/v3

# The marker holds the link flags of a build that ran; other flags (or none) rebuild.
if [[ -x $HELM && -f $MARKER ]] && grep -q "version=$VERSION " "$MARKER"; then
  echo "$HELM"
  exit 0
fi
if ! command -v "$GO" >/dev/null 2>&1; then
  echo "helm.sh: '$GO' not found: helm $VERSION is built with Go (1.24 or newer)" >&2
  exit 1
fi
mkdir -p "$CACHE/bin"
rm -f "$MARKER"
echo "helm.sh: building helm $VERSION from the Go module proxy into $CACHE (one-off)" >&2
start=$SECONDS

# Stamp what helm's own Makefile stamps: its version, and the Kubernetes version it
# assumes without a cluster (from its client-go; unstamped it says v1.20 and refuses
# charts whose kubeVersion asks for more).
if ! gomod=$("$GO" mod download -json "$MODULE@$VERSION" 2>&1); then
  echo "$gomod" >&2
  echo "helm.sh: cannot download $MODULE@$VERSION from the Go module proxy" >&2
  exit 1
fi
gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$gomod")
client_go=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
if [[ ! $client_go =~ ^v0\.([0-9]+)\. ]]; then
  echo "helm.sh: cannot read k8s.io/client-go's version from $gomod" >&2
  exit 1
fi
kube_minor=${BASH_REMATCH[1]}
ldflags="-s -w -X $MODULE/internal/version.version=$VERSION"
ldflags+=" -X $MODULE/internal/version.metadata="
for pkg in pkg/lint/rules pkg/chartutil; do
  ldflags+=" -X $MODULE/$pkg.k8sVersionMajor=1 -X $MODULE/$pkg.k8sVersionMinor=$kube_minor"
done

# CGO off: a static binary that needs no C toolchain.
if ! out=$(GOBIN=$CACHE/bin CGO_ENABLED=0 "$GO" install -trimpath -ldflags "$ldflags" \
    "$MODULE/cmd/helm@$VERSION" 2>&1); then
  echo "$out" >&2
  echo "helm.sh: building helm $VERSION failed" >&2
  exit 1
fi
"$HELM" version --short >/dev/null
echo "$ldflags " >"$MARKER"
echo "helm.sh: built helm $VERSION (Kubernetes 1.$kube_minor) in $((SECONDS - start)) s" >&2
echo "$HELM"
