#!/bin/sh
# onnx_install.sh DIR — the test fixture of the ONNX export's tests: npm's
# onnxruntime-node (CPU) installed into DIR/node_modules, once per build
# folder. ONNXRUNTIME_NODE_INSTALL=skip keeps its install script from
# fetching GPU binaries (the CPU ones are in the package). Fails, naming
# what to install, when node or npm is missing or npm cannot install it.
set -u
dir=$1
version=1.30.0
pkg="$dir/node_modules/onnxruntime-node"

loads() {
    node -e "const p = require('$pkg/package.json');
             if (p.version !== '$version') process.exit(3);
             require('$pkg');" >/dev/null 2>&1
}

for tool in node npm; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "onnx_install.sh: $tool is missing: apt-get install nodejs npm (scripts/install-deps does it)" >&2
        exit 1
    fi
done
loads && exit 0
mkdir -p "$dir" || exit 1
[ -f "$dir/package.json" ] || echo '{ "name": "gradflow-onnx-tests", "private": true }' > "$dir/package.json"
echo "onnx_install.sh: npm install onnxruntime-node@$version into $dir"
if ! ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
        "onnxruntime-node@$version"; then
    echo "onnx_install.sh: npm could not install onnxruntime-node@$version into $dir (npm's registry must be" \
         "reachable); the ONNX export's tests need it" >&2
    exit 1
fi
if ! loads; then
    echo "onnx_install.sh: onnxruntime-node@$version was installed into $dir but does not load in" \
         "node $(node --version)" >&2
    exit 1
fi
