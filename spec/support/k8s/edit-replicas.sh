#!/bin/sh
# An $EDITOR for the specs: sets "replicas: N" (N from $VCLI_TEST_REPLICAS) in the file.
# With VCLI_TEST_RACE=cmd, runs cmd first (a concurrent change made while "editing").
[ -n "$VCLI_TEST_RACE" ] && sh -c "$VCLI_TEST_RACE" >/dev/null 2>&1
sed -i "s/^  replicas: [0-9]*/  replicas: ${VCLI_TEST_REPLICAS:-2}/" "$1"
