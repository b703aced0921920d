#!/usr/bin/env bash
# Shows that each rule's test fails when the rule's check is removed: for
# each Rule* constant, turns its c.add calls into no-ops, runs the package's
# tests (which must FAIL), then restores dataplane.go.
# Run from the repository root: bash pkg/dataplane/testdata/mutate.sh
set -u
dir=pkg/dataplane
backup=$(mktemp)
cp "$dir/dataplane.go" "$backup"
restore() { cp "$backup" "$dir/dataplane.go"; rm -f "$dir/zz_mutate.go" "$backup"; }
trap restore EXIT
printf 'package dataplane\n\nfunc (c *checker) skip(string, int, int, string, ...any) {}\n' > "$dir/zz_mutate.go"
status=0
for rule in $(grep -o 'Rule[A-Za-z]* *= "' "$backup" | sed 's/ *= "//'); do
  sed "s/c\.add($rule,/c.skip($rule,/g" "$backup" > "$dir/dataplane.go"
  if go test "./$dir/" >/dev/null 2>&1; then
    echo "$rule: tests still pass with the check removed"; status=1
  else
    echo "$rule: caught"
  fi
done
exit $status
