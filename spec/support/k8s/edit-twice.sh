#!/bin/sh
# An $EDITOR for the specs: the first time it breaks the YAML; the second time
# it keeps a copy of what it was given in $VCLI_TEST_SEEN (the reopened file,
# with the error at the top) and sets "replicas: $VCLI_TEST_REPLICAS".
# VCLI_TEST_AGAIN=same: the second time it saves the file unchanged.
n="$VCLI_TEST_COUNT"
if [ ! -e "$n" ]; then
  : > "$n"
  printf 'spec: [unclosed\n' >> "$1"
  exit 0
fi
cp "$1" "$VCLI_TEST_SEEN"
[ "$VCLI_TEST_AGAIN" = same ] && exit 0
# the broken line goes, the replicas change
sed -i -e '/^spec: \[unclosed$/d' -e "s/^  replicas: [0-9]*/  replicas: ${VCLI_TEST_REPLICAS:-2}/" "$1"
