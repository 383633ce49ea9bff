# payd: the two commands are `make run` and `make test`.
BUILD_DIR ?= build
SANITIZE_DIR ?= build-sanitize
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: deps build run test unit-test sanitize-test bench chaos clean

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	$(BUILD_DIR)/src/app/payd $(ARGS)

# Every test: unit, API, concurrency and crash tests against a real payd,
# then the unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
test: build sanitize-test
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

sanitize-test: deps
	@cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPAYD_SANITIZE=ON -DPAYD_UNIT_TESTS_ONLY=ON >/dev/null
	@cmake --build $(SANITIZE_DIR) -j$(JOBS) --target unit_tests
	@$(SANITIZE_DIR)/tests/unit_tests --gtest_brief=1

# Every figure in one run: the ledger writer, paybench end to end on SQLite
# and PostgreSQL with the one-transaction-per-request baseline, pgbench.
# Writes bench/results/<timestamp>/ and BENCHMARKS.md.
bench: build
	bench/run

# payd under faults (kill -9, PostgreSQL stopped, a node lost, Redis lost or
# flushed) with client retries; fails when an acknowledged operation is lost,
# a key had two effects or money is not conserved.
chaos: build
	bench/chaos --build-dir $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR)
