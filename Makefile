# gradflow — the commands a newcomer runs. Everything real lives in CMake;
# this file installs what is missing, configures, builds and runs.
#
#   make demo      build and run the article's program on MNIST (fetching it)
#   make check     build and run every test (SANITIZE=1: under ASan+UBSan)
#   make bench     build and run the benchmarks (gradflow bench; extra options in
#                  BENCHFLAGS, e.g. make bench BENCHFLAGS="--quick --only w1")
#   make install   install into PREFIX (default /usr/local)

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

.PHONY: all demo check bench install deps data clean

all: $(BUILD)/gradflow

$(BUILD)/Makefile: CMakeLists.txt tests/CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_C_COMPILER=$(CC) $(CMAKEFLAGS)

$(BUILD)/gradflow: $(BUILD)/Makefile FORCE
	cmake --build $(BUILD) -j $(JOBS)

FORCE:

deps:
	@scripts/install-deps

data: $(BUILD)/gradflow
	@GRADFLOW=$(BUILD)/gradflow scripts/get-mnist $(DATA)

demo: $(BUILD)/gradflow data
	$(BUILD)/backprop_manual $(DATA)

check: deps
	@$(MAKE) --no-print-directory $(BUILD)/gradflow
	@GRADFLOW=$(BUILD)/gradflow scripts/get-mnist $(DATA)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

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
