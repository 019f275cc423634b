# vcli — see README.md. `make run` and `make test` are the two commands a newcomer needs.
SHELL      := /bin/bash
PREFIX     ?= /usr/local
BUILD      ?= build
BIN        ?= vcli
CC         ?= cc
PKGS       := luajit yaml-0.1 lmdb
CJSON_A    := /usr/lib/$(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/liblua5.1-cjson.a
CFLAGS     ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE
CPPFLAGS   += $(shell pkg-config --cflags $(PKGS) libcurl 2>/dev/null) -DVCLI_DATADIR='"$(PREFIX)/share/vcli"'
LDLIBS     += $(CJSON_A) $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lm
# LuaJIT needs this for its unwinder on x86_64; harmless elsewhere.
LDFLAGS    += -Wl,-E

SRCS       := $(wildcard core/*.c)
OBJS       := $(patsubst core/%.c,$(BUILD)/%.o,$(filter-out core/test_%.c,$(SRCS)))
HDRS       := $(wildcard core/*.h)

# Debian packages: the build, the tests (servers and tools they drive), and the checks.
DEB_BUILD  := gcc make pkg-config libc6-dev libluajit-5.1-dev lua-cjson-dev libyaml-dev liblmdb-dev libcurl4-openssl-dev
DEB_TEST   := tmux python3 curl openssl procps prometheus lua-check hyperfine
DEB_KUBE   := golang-go etcd-server rsync dpkg-dev golang-github-modern-go-reflect2-dev
DEB_ALL    := $(DEB_BUILD) $(DEB_TEST) $(DEB_KUBE)
# Installed only when the command is missing (a machine may have it from elsewhere):
# npm fetches the reference kubectl v1.32 the specs compare with (spec/support/kube build).
DEB_CMDS   := npm:npm
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps run test check bench clean install lint kube-build fuzz
all: $(BIN)

deps:
	@missing=$$(for p in $(DEB_ALL); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done; \
	  for cp in $(DEB_CMDS); do command -v $${cp%%:*} >/dev/null 2>&1 || echo $${cp#*:}; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(BUILD):
	@mkdir -p $(BUILD)

$(BUILD)/%.o: core/%.c $(HDRS) | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) $(CFLAGS) $(OBJS) -o $@ $(LDLIBS)

$(BUILD)/test_core: core/test_core.c $(filter-out $(BUILD)/main.o,$(OBJS))
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# With no kubeconfig, the bundled demo: a real kube-apiserver on 127.0.0.1 with
# seeded workloads (docs/test-cluster.md), stopped again when vcli exits.
run: deps $(BIN)
	@if [ -n "$$KUBECONFIG" ] || [ -f "$$HOME/.kube/config" ] || [ -n "$(NODEMO)" ]; then \
	  exec ./vcli $(ARGS); \
	fi; \
	exec spec/support/demo ./vcli $(ARGS)

# Every test: C unit tests, Lua specs inside the real binary, end-to-end specs in tmux,
# and the specs that start a real kube-apiserver and Prometheus. Ends with "N passed, N failed".
# The reference kubectl (spec/support/kube kubectl) goes first on PATH, for the specs and for
# what vcli hands to kubectl.
WITH_KUBECTL = PATH="$$(spec/support/kube kubectl --dir):$$PATH"
test: deps $(BIN) $(BUILD)/test_core kube-build
	$(WITH_KUBECTL) ./vcli -l spec/runner.lua --c-tests $(BUILD)/test_core $(SPECS)

# The real kube-apiserver the specs start: built once per machine from Debian's
# kubernetes source package, cached under $${XDG_CACHE_HOME:-~/.cache}/vcli-test.
kube-build:
	spec/support/kube build

lint:
	luacheck -q lua plugins spec bench rc


check: deps kube-build
	$(MAKE) clean
	$(MAKE) vcli $(BUILD)/test_core CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(WITH_KUBECTL) ./vcli -l spec/runner.lua --c-tests $(BUILD)/test_core $(SPECS)
	$(MAKE) lint
	$(MAKE) clean

# Fuzzing (not part of `make test`): libFuzzer with ASan + UBSan over the C core and the
# Lua parsers, one target of spec/fuzz/targets.lua at a time, FUZZ_SECS seconds each.
# Crashing inputs land in build/fuzz/crashes/TARGET/; fixed ones go to spec/fuzz/regress/.
FUZZ_TARGETS ?= yaml jsonfmt wsock term_keys shell_words kubeconfig jsonpath custom_columns plugin_manifest promql watch_lines pattern
FUZZ_SECS    ?= 60
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS    := $(patsubst core/%.c,$(BUILD)/fuzz/%.o,$(filter-out core/test_%.c core/main.c,$(SRCS)))

$(BUILD)/fuzz/%.o: core/%.c $(HDRS)
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/vcli-fuzz: spec/fuzz/harness.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) $^ -o $@ $(LDLIBS)

fuzz: deps
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang
	$(MAKE) $(BUILD)/fuzz/vcli-fuzz
	spec/fuzz/run $(FUZZ_SECS) $(FUZZ_TARGETS)

bench: deps $(BIN) kube-build
	$(WITH_KUBECTL) ./vcli -l bench/run.lua $(BENCH)

install: vcli
	install -D -m755 vcli $(DESTDIR)$(PREFIX)/bin/vcli
	mkdir -p $(DESTDIR)$(PREFIX)/share/vcli
	cp -r lua plugins rc $(DESTDIR)$(PREFIX)/share/vcli/

clean:
	rm -rf $(BUILD) vcli
