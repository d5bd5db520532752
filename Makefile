# gradflow — the commands a newcomer runs. Everything real lives in CMake;
# this file installs what is missing, configures, builds and runs.
#
#   make demo      build and run the article's program on MNIST (fetching it)
#   make check     build and run every test (SANITIZE=1: under ASan+UBSan)
#   make bench     build and run the benchmarks
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

bench: $(BUILD)/gradflow data
	$(BUILD)/bench_article --data $(DATA)

install: $(BUILD)/gradflow
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-asan
