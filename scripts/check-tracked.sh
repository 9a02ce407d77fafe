#!/usr/bin/env bash
# check-tracked.sh: fail when the repository tracks a file over 1 MiB or a
# compiled ELF binary (build output belongs in bin/, never in git).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=1048576
bad=0
n=0
while IFS= read -r -d '' f; do
	[[ -f $f ]] || continue
	n=$((n + 1))
	size=$(stat -c %s -- "$f")
	if ((size > limit)); then
		echo "tracked file over 1 MiB: $f ($size bytes)" >&2
		bad=1
	fi
	if [[ $(head -c 4 -- "$f" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
		echo "tracked ELF binary: $f" >&2
		bad=1
	fi
done < <(git ls-files -z)
if ((n == 0)); then
	echo "check-tracked: git lists no files (not a git checkout?)" >&2
	exit 1
fi
if ((bad)); then
	echo "check-tracked: remove these from git (git rm --cached) and ignore them" >&2
	exit 1
fi
echo "check-tracked: $n tracked files, none over 1 MiB, no ELF binaries"
