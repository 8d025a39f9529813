# The two commands a newcomer needs: `make run` and `make test`.
BUILD_DIR ?= build
CMAKE_FLAGS ?=

.PHONY: all setup build run test unit e2e clean

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
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j2

e2e: build
	@scripts/setup.sh --with-test-clients
	cd tests/e2e && HOPEFLOW_BIN=$(abspath $(BUILD_DIR))/hopeflow-realtime node --test --test-concurrency=2 --test-reporter=spec

test: unit e2e

clean:
	rm -rf $(BUILD_DIR)
