# The two commands a newcomer needs: `make test` and `make demo`.
# Both install missing Debian packages, configure (CMake + Ninja), and build.

PRESET ?= debug
BUILD  ?= build
JOBS   ?= $(shell nproc)

.PHONY: all deps configure build test demo asan tsan fuzz clean

all: build

deps:
	./scripts/install-deps

configure: deps
	cmake --preset $(PRESET)

build: configure
	cmake --build --preset $(PRESET) -j $(JOBS)

test: build
	ctest --preset $(PRESET) -j $(JOBS)

demo: build
	./scripts/demo $(BUILD)

# Sanitizer builds: the same tests under ASan+UBSan or TSan.
asan:
	$(MAKE) test PRESET=asan BUILD=build-asan

tsan:
	$(MAKE) test PRESET=tsan BUILD=build-tsan

fuzz: deps
	cmake --preset fuzz
	cmake --build --preset fuzz -j $(JOBS)

clean:
	rm -rf build build-asan build-tsan build-release build-fuzz
