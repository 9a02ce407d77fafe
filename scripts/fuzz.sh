#!/usr/bin/env bash
# fuzz.sh: run Go fuzz targets one after another, each for FUZZTIME
# (default 5m). With SHORT=1 only the network parsers run (what make test
# does, a few seconds each); otherwise every fuzz target of the tree.
# New inputs that fail are written under the package's testdata/fuzz/
# by go test itself; commit them with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-5m}
GO=${GO:-go}
network=(
	"./dialer FuzzParseSDP"
	"./dialer FuzzRegisterAuthorization"
	"./media FuzzParseRTP"
)
if [[ ${SHORT:-} == 1 ]]; then
	targets=("${network[@]}")
else
	targets=()
	while IFS= read -r line; do
		file=${line%%:*}
		name=$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+)\(.*/\1/' <<<"$line")
		targets+=("./$(dirname "$file") $name")
	done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | sed 's|^\./||' | sort)
fi
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "fuzz $pkg $name for $FUZZTIME"
	$GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"
done
