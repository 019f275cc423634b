#!/bin/sh
# An exec credential plugin for the specs (client.authentication.k8s.io).
# Hands out $VCLI_TEST_TOKEN; counts its runs in $VCLI_TEST_EXEC_COUNT;
# "fail" as first argument makes it fail like a broken plugin would.
if [ -n "$VCLI_TEST_EXEC_COUNT" ]; then echo run >> "$VCLI_TEST_EXEC_COUNT"; fi
if [ "$1" = "fail" ]; then echo "error: login expired; run 'sso login'" >&2; exit 3; fi
api=$(printf '%s' "$KUBERNETES_EXEC_INFO" | sed -n 's/.*"apiVersion":"\([^"]*\)".*/\1/p')
[ -n "$api" ] || api=client.authentication.k8s.io/v1
exp=${VCLI_TEST_EXPIRY:-2099-01-01T00:00:00Z}
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "$api" "$VCLI_TEST_TOKEN" "$exp"
