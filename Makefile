# gradflow — the commands a newcomer runs. Everything real lives in CMake;
# this file installs what is missing, configures, builds and runs.
#
#   make demo      build and run the article's program on MNIST (fetching it)
#   make check     build and run every test (SANITIZE=1: under ASan+UBSan)
#   make bench     build and run the benchmarks (gradflow bench; extra options in
#                  BENCHFLAGS, e.g. make bench BENCHFLAGS="--quick --only w1")
#   make install   install into PREFIX (default /usr/local)
#   make configure (re)configure $(BUILD); every target above does it first
#   make fuzz      build the libFuzzer targets (clang) and run each a fixed
#                  number of times from a fixed seed; fails on any finding
#   make fuzz-long each target FUZZ_SECONDS (600) from random seeds (see
#                  fuzz/README.md)

PREFIX   ?= /usr/local
SANITIZE ?= 0
CC       ?= cc
DATA     ?= data/mnist
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

ifeq ($(SANITIZE),1)
BUILD    ?= build-asan
CMAKEFLAGS += -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGF_SANITIZE=ON
else
BUILD    ?= build
CMAKEFLAGS += -DCMAKE_BUILD_TYPE=Release
endif

.PHONY: all configure demo check bench install deps data clean fuzz fuzz-build fuzz-seeds

all: $(BUILD)/gradflow

# Every target configures $(BUILD) again before building (a fraction of a
# second when nothing changed): CMake looks again for what it did not find
# the last time, so cmocka or libpng installed since (by make check, or by
# hand after a make demo) are picked up. `cmake --build` alone re-runs CMake
# only when a CMakeLists.txt changes.
# Once configured, only CMake's warnings and errors are shown.
configure:
	@if [ -f $(BUILD)/CMakeCache.txt ]; then \
	  cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC) $(CMAKEFLAGS) >/dev/null; \
	else \
	  cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC) $(CMAKEFLAGS); \
	fi

$(BUILD)/gradflow: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps

data: $(BUILD)/gradflow
	@GRADFLOW=$(BUILD)/gradflow scripts/get-mnist $(DATA)

demo: $(BUILD)/gradflow data
	$(BUILD)/backprop_manual $(DATA)

# cmake/check-tests.cmake fails, naming what is missing and why, if ctest
# would run fewer tests than the project has (one per tests/test_*.c and the
# script tests of tests/CMakeLists.txt): a build without cmocka must not pass.
check: deps
	@$(MAKE) --no-print-directory $(BUILD)/gradflow
	@GRADFLOW=$(BUILD)/gradflow scripts/get-mnist $(DATA)
	@cmake -DSOURCE_DIR=$(CURDIR) -DBUILD_DIR=$(BUILD) -P cmake/check-tests.cmake
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS)

# JSON lines on stdout, the table on stderr; without MNIST in $(DATA) (no
# network) gradflow bench falls back to Fashion-MNIST or generated images.
bench: $(BUILD)/gradflow
	@GRADFLOW=$(BUILD)/gradflow scripts/get-mnist $(DATA) || \
	  echo "make bench: no MNIST in $(DATA); gradflow bench will say what it uses instead"
	$(BUILD)/gradflow bench --data $(DATA) $(BENCHFLAGS)

install: $(BUILD)/gradflow
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-asan

# Fuzzing: fuzz/CMakeLists.txt is a clang-only project of its own (the
# library rebuilt with -fsanitize=fuzzer-no-link,address,undefined). Each
# target starts from fuzz/corpus/<t> and fuzz/regressions/<t> and writes a
# crashing input to $(FUZZ_BUILD)/artifacts/<t>/: copy it into
# fuzz/regressions/<t>/ (replayed by tests/test_bad_inputs.c), then fix the
# bug.
#
#   make fuzz        what CI runs: each target FUZZ_RUNS executions from seed
#                    FUZZ_SEED, starting from the checked-in corpora only, so
#                    the same commit always gets the same verdict and prints
#                    the same statistics.
#   make fuzz-long   random seeds, FUZZ_SECONDS (default 600) per target,
#                    growing $(FUZZ_BUILD)/corpus/<t>: what a change that adds
#                    a reader or an op runs before it is called done.
FUZZ_SEED    ?= 1
FUZZ_RUNS    ?= 40000
FUZZ_SECONDS ?= 600
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_TARGETS ?= fuzz_idx fuzz_graph fuzz_checkpoint fuzz_npy fuzz_csv fuzz_model
FUZZ_FLAGS   ?= -timeout=30 -rss_limit_mb=2048

.PHONY: fuzz-long

fuzz-build:
	cmake -S fuzz -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=$(FUZZ_CC) -DCMAKE_BUILD_TYPE=
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# $(call fuzz_each,LIMITS,CORPUS): runs every target with LIMITS, new inputs
# kept in CORPUS/<t>; prints libFuzzer's statistics, or the end of the log
# and how to keep the input, and fails after the last target on a finding.
define fuzz_each
	@status=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(2)/$$t $(FUZZ_BUILD)/artifacts/$$t fuzz/regressions/$$t; \
	  echo "== fuzz: $$t, $(1)"; \
	  if $(or $(3),env UBSAN_OPTIONS=print_stacktrace=1) $(FUZZ_BUILD)/$$t $(1) \
	       -print_final_stats=1 $(FUZZ_FLAGS) -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ \
	       $(2)/$$t fuzz/corpus/$$t fuzz/regressions/$$t \
	       > $(FUZZ_BUILD)/$$t.log 2>&1; then \
	    grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' \
	      $(FUZZ_BUILD)/$$t.log | grep -v rss | tr '\n' ' '; \
	    grep -E '^#[0-9]+.*DONE' $(FUZZ_BUILD)/$$t.log | sed 's/exec\/s: [0-9]* //; s/rss: [0-9]*Mb//'; \
	  else \
	    status=1; tail -n 60 $(FUZZ_BUILD)/$$t.log; \
	    echo "fuzz: $$t FOUND A BUG (full log: $(FUZZ_BUILD)/$$t.log); reproduce with"; \
	    echo "  $(FUZZ_BUILD)/$$t $(FUZZ_BUILD)/artifacts/$$t/<file>"; \
	    echo "and keep the input as a regression: cp it to fuzz/regressions/$$t/"; \
	  fi; \
	done; exit $$status
endef

# The deterministic run starts each time from an empty corpus of its own.
# libFuzzer's comparison tracing (-use_cmp) learns from operands, pointers
# included, whose values move with address randomisation, with the size of
# the environment (the checkout's path, make's variables) and with the
# binary's layout (its embedded source paths): it is off here, with
# randomisation off (setarch -R) and a fixed environment (env -i). Then two
# clones of a commit, wherever they are, print the same statistics.
# `make fuzz FUZZ_SECONDS=600` (FUZZ_SECONDS given) is `make fuzz-long`.
ifeq ($(filter command line environment,$(origin FUZZ_SECONDS)),)
fuzz: fuzz-build
	@setarch -R true || { echo "make fuzz: 'setarch -R' (util-linux) is needed for a repeatable run" >&2; exit 1; }
	rm -rf $(FUZZ_BUILD)/fixed-corpus
	$(call fuzz_each,-seed=$(FUZZ_SEED) -runs=$(FUZZ_RUNS) -reload=0 -use_cmp=0,$(FUZZ_BUILD)/fixed-corpus,setarch -R env -i UBSAN_OPTIONS=print_stacktrace=1)
else
fuzz: fuzz-long
endif

fuzz-long: fuzz-build
	$(call fuzz_each,-max_total_time=$(FUZZ_SECONDS),$(FUZZ_BUILD)/corpus)

fuzz-seeds: fuzz-build
	$(FUZZ_BUILD)/fuzz_gen_seeds fuzz/corpus
	$(FUZZ_BUILD)/fuzz_gen_data_seeds fuzz/corpus
