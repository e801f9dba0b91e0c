# The two set-up commands of README.md, and the rest of the workflow.
#   make demo      install what is missing, build, run the demo
#   make test      install what is missing, build, run every test (ctest)
#   make bench     build optimised and run the benchmarks
#   make sanitize  the whole suite under AddressSanitizer + UBSan
#   make tsan      the suite under ThreadSanitizer (but what it cannot run)
#   make ucontext  the whole suite with the ucontext stack switch
#   make fuzz      build the decoder fuzzer with clang and run it briefly
#   make format    reformat the sources with clang-format
#   make dist      the source tarball (CPack), in build-dist/
#   make distcheck the tarball alone: unpacked, built, every test run (slow)
BUILD ?= build
JOBS  ?= 2
CMAKE_FLAGS ?=
CTEST = ctest -j$(JOBS) --output-on-failure --timeout 300

.PHONY: all deps build demo test bench sanitize tsan ucontext fuzz fuzz-door format format-check dist distcheck clean

all: build

deps:
	@./scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/examples/demo

test: build
	cd $(BUILD) && $(CTEST)

bench: deps
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSYN_BUILD_TESTS=OFF
	cmake --build build-bench -j$(JOBS) --target bench
	./build-bench/tests/bench/bench

sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSYN_SANITIZE=address,undefined -DSYN_BUILD_BENCH=OFF
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST)

tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DSYN_SANITIZE=thread -DSYN_BUILD_BENCH=OFF
	cmake --build build-tsan -j$(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 $(CTEST) -LE no_tsan

ucontext: deps
	cmake -S . -B build-ucontext -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYN_CONTEXT=ucontext -DSYN_BUILD_BENCH=OFF
	cmake --build build-ucontext -j$(JOBS)
	cd build-ucontext && $(CTEST)

fuzz:
	@./scripts/install-deps clang libclang-rt-14-dev
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSYN_BUILD_FUZZ=ON -DSYN_SANITIZE=address,undefined -DSYN_BUILD_TESTS=OFF -DSYN_BUILD_BENCH=OFF
	cmake --build build-fuzz -j$(JOBS) --target fuzz_decode
	mkdir -p build-fuzz/corpus && cp tests/fuzz/corpus/* build-fuzz/corpus/
	./build-fuzz/tests/fuzz/fuzz_decode -max_total_time=$${FUZZ_SECONDS:-60} build-fuzz/corpus

# The stateful fuzzer of the door (tests/fuzz/fuzz_door.c): not in CI,
# run on demand. Resets (RST) are off: one of nng 1.5.2's own bugs
# (docs/DESIGN.md, "Other processes") stops it in a few hundred runs.
fuzz-door:
	@./scripts/install-deps clang libclang-rt-14-dev
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSYN_BUILD_FUZZ=ON -DSYN_SANITIZE=address,undefined -DSYN_BUILD_TESTS=OFF -DSYN_BUILD_BENCH=OFF
	cmake --build build-fuzz -j$(JOBS) --target fuzz_door
	mkdir -p build-fuzz/door-corpus && FUZZ_DOOR_SEEDS=build-fuzz/door-corpus ./build-fuzz/tests/fuzz/fuzz_door
	FUZZ_DOOR_NO_RST=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan_nng.supp ./build-fuzz/tests/fuzz/fuzz_door -max_len=4096 -timeout=20 -max_total_time=$${FUZZ_SECONDS:-60} build-fuzz/door-corpus

format:
	@./scripts/install-deps clang-format
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@./scripts/install-deps clang-format
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

# The tarball packs the working tree as it is: make it from a clean
# checkout of the release's tag (docs/RELEASING.md).
dist: deps
	cmake -S . -B build-dist -DSYN_BUILD_TESTS=OFF -DSYN_BUILD_BENCH=OFF >/dev/null
	rm -f build-dist/synchronicity-*.tar.gz
	cd build-dist && cpack --config CPackSourceConfig.cmake
	@ls build-dist/synchronicity-*.tar.gz

distcheck: dist
	JOBS=$(JOBS) ./scripts/distcheck build-dist/synchronicity-*.tar.gz

clean:
	rm -rf build build-bench build-asan build-tsan build-ucontext build-fuzz build-dist
