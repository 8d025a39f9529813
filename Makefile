# The two commands a newcomer needs: `make run` and `make test` (the quick
# suite before every commit); `make ci` runs everything (what CI runs).
BUILD_DIR ?= build
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 15
# node's test runner, with a bound per test so that a hang fails that test.
NODE_TEST = node --test --test-concurrency=2 --test-timeout=240000 --test-force-exit --test-reporter=spec

.PHONY: all setup build run test ci unit e2e e2e-cluster e2e-rediscluster clients python fuzz asan tsan chaos chaos-short package clean

all: build

setup:
	@scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: setup $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR)

run: build
	@scripts/run.sh

unit: build
	@scripts/setup.sh --with-test-clients
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j2 --timeout 300

e2e: build
	@scripts/setup.sh --with-test-clients
	cd tests/e2e && HOPEFLOW_BIN=$(abspath $(BUILD_DIR))/hopeflow-realtime $(NODE_TEST)

# The protocol conformance tests again, across a 2-node cluster (own
# redis-server on a free port): sockets on one node, publishes through the other.
E2E_CLUSTER_FILES = auth publish socket subscriptions guarantees routing websocket heartbeat receipts idempotency webhook many_users
e2e-cluster: build
	@scripts/setup.sh --with-test-clients
	cd tests/e2e && HOPEFLOW_CLUSTER=1 HOPEFLOW_BIN=$(abspath $(BUILD_DIR))/hopeflow-realtime $(NODE_TEST) $(addsuffix .test.mjs,$(E2E_CLUSTER_FILES))

# The same conformance tests on a real Redis Cluster (3 masters + 3 replicas,
# sharded pub/sub), and the Redis Cluster's own faults: failover under
# publishing, a slot migration with sockets connected, recovery across nodes.
e2e-rediscluster: build
	@scripts/setup.sh --with-test-clients
	cd tests/e2e && HOPEFLOW_CLUSTER=1 HOPEFLOW_REDIS_CLUSTER=1 HOPEFLOW_BIN=$(abspath $(BUILD_DIR))/hopeflow-realtime $(NODE_TEST) $(addsuffix .test.mjs,$(E2E_CLUSTER_FILES)) redis_cluster.test.mjs receipts_cluster.test.mjs webhook_cluster.test.mjs

# The JavaScript SDK (clients/js), the console and the CLI (tests/clients/):
# policies with a fake clock, the SDK against the real binary (kill/restart,
# recovery, refresh), two tabs and the console in Debian's headless chromium,
# the CLI end to end, `npm pack` and a `tsc --strict` check of the types.
clients: build
	@scripts/setup.sh --with-test-clients
	cd tests/clients && HOPEFLOW_BIN=$(abspath $(BUILD_DIR))/hopeflow-realtime $(NODE_TEST)

# The Python helper for backends (clients/python): tokens and webhook
# signatures, then publish (and devices) against the real binary, with
# Debian's python3-websockets as the socket that subscribes and acks.
python: build
	@scripts/setup.sh --with-test-clients
	cd clients/python && HOPEFLOW_BIN=$(abspath $(BUILD_DIR))/hopeflow-realtime /usr/bin/python3 -m unittest -v

# libFuzzer targets (clang), 15 s each in the default run; `scripts/fuzz.sh 3600` for longer.
fuzz: setup
	@scripts/setup.sh --with-test-clients
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The unit and end-to-end tests again, against an AddressSanitizer + UBSan build.
asan: setup
	@scripts/setup.sh --with-test-clients
	cmake -S . -B build-asan -G Ninja -DHOPEFLOW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j2 --timeout 300
	cd tests/e2e && HOPEFLOW_BIN=$(abspath build-asan)/hopeflow-realtime HOPEFLOW_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 $(NODE_TEST)

# The unit tests and the end-to-end tests (THREADS=2, the cluster ones and
# the Redis Cluster ones included) again, against a ThreadSanitizer build: the first data race
# stops the server (halt_on_error), which fails the test that caused it.
TSAN_OPTIONS_ALL = halt_on_error=1 second_deadlock_stack=1
tsan: setup
	@scripts/setup.sh --with-test-clients
	cmake -S . -B build-tsan -G Ninja -DHOPEFLOW_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-tsan
	TSAN_OPTIONS="$(TSAN_OPTIONS_ALL)" ctest --test-dir build-tsan --output-on-failure -j2 --timeout 300 -E bench_smoke
	cd tests/e2e && HOPEFLOW_BIN=$(abspath build-tsan)/hopeflow-realtime HOPEFLOW_SANITIZED=1 TSAN_OPTIONS="$(TSAN_OPTIONS_ALL)" $(NODE_TEST)
	cd tests/e2e && HOPEFLOW_CLUSTER=1 HOPEFLOW_BIN=$(abspath build-tsan)/hopeflow-realtime HOPEFLOW_SANITIZED=1 TSAN_OPTIONS="$(TSAN_OPTIONS_ALL)" $(NODE_TEST) $(addsuffix .test.mjs,$(E2E_CLUSTER_FILES))
	cd tests/e2e && HOPEFLOW_BIN=$(abspath build-tsan)/hopeflow-realtime HOPEFLOW_SANITIZED=1 TSAN_OPTIONS="$(TSAN_OPTIONS_ALL)" $(NODE_TEST) redis_cluster.test.mjs

# Faults injected into a 3-node cluster under steady publishing (tests/chaos/):
# node kills and restarts, Redis kill and restart, a drain, bad clients; and
# on a Redis Cluster, two masters killed in turn (failover to their replicas).
# CHAOS_SECONDS sets the publishing phase (default 30).
chaos: build
	@scripts/setup.sh --with-test-clients
	cd tests/chaos && HOPEFLOW_BIN=$(abspath $(BUILD_DIR))/hopeflow-realtime node --test --test-timeout=600000 --test-force-exit --test-reporter=spec

# A short chaos run for `make test`: 10 s of publishing under node and Redis
# kills, 20 recovery cycles (the Redis Cluster chaos runs in `make ci`).
chaos-short: build
	@scripts/setup.sh --with-test-clients
	cd tests/chaos && CHAOS_SECONDS=10 CHAOS_RECOVERY_CYCLES=20 HOPEFLOW_BIN=$(abspath $(BUILD_DIR))/hopeflow-realtime node --test --test-timeout=600000 --test-force-exit --test-reporter=spec chaos.test.mjs recovery.test.mjs devices.test.mjs

# The Debian package: build, install on this machine, run the installed
# server with the installed configuration, remove (docs/operations.md).
package: build
	@scripts/setup.sh --with-test-clients
	bash packaging/test-package.sh

# The quick suite, before every commit: unit, end to end on one node and on a
# cluster, the clients, a short chaos run (scripts/test.sh: each pass bounded
# in time, with a summary).
test: build
	@scripts/test.sh quick

# Everything, as CI runs it: the quick suite's passes plus the Redis Cluster
# end-to-end tests, the full chaos suite, fuzzing, ASan and TSan, and the
# package.
ci: build
	@scripts/test.sh ci

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-fuzz
